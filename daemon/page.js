(function(){
var d=document,$=function(i){return d.getElementById(i)},c=$('counter'),m=$('msg'),st=$('stale'),au=$('auth'),out=$('out'),
per=d.body.getAttribute('data-auth')==='per-request',shown=+c.textContent,opt=0,pending=false;
function paint(){c.textContent=pending&&opt>shown?opt:shown}
function who(){var x=/(?:^|; )counter_login=([^;]+)/.exec(d.cookie);return x?x[1]:''}
function state(){if(per)return;var w=who();au.hidden=!!w;out.hidden=!w;$('who').textContent=w?'Logged in as '+w:''}
function wait(s){var n=Math.ceil(s/60),h=Math.floor(n/60);n%=60;return h?h+' h'+(n?' '+n+' min':''):n+' min'}
d.addEventListener('submit',function(e){
var f=e.target,s=e.submitter,a=(s&&s.getAttribute('formaction'))||f.getAttribute('action'),inc=a==='/inc';
e.preventDefault();m.textContent='';
if(inc){pending=true;opt=shown+1;paint();$('inc').disabled=true}
fetch(a,{method:'POST',body:new URLSearchParams(new FormData(f)),credentials:'same-origin'}).then(function(r){return r.text().then(function(t){
t=t.trim();if(inc){pending=false;$('inc').disabled=false;if(r.ok)shown=Math.max(shown,+t);paint()}
if(r.ok){if(a==='/register')m.textContent='Welcome, you are registered.';if(a==='/logout'){d.cookie='counter_login=; Max-Age=0; Path=/';if(t!=='logged out')m.textContent=t}
if(inc&&r.headers.get('Counter-Earlier-Press'))m.textContent='Your earlier press had counted; this is its result.'}
else if(r.status===429&&inc)m.textContent='You already pressed it: once every 24 hours. Try again in '+wait(+r.headers.get('Retry-After'))+'.';
else{m.textContent=t||'Error '+r.status;if(r.status===401&&!per)d.cookie='counter_login=; Max-Age=0; Path=/'}
state()})}).catch(function(){pending=false;$('inc').disabled=false;paint();m.textContent='Network error, please try again.'})});
if(window.EventSource){var es=new EventSource('/events');es.onmessage=function(e){shown=+e.data;paint()};
es.addEventListener('stale',function(e){st.hidden=e.data!=='1'})}
state()})();
