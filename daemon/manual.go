package daemon

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"counter/internal/buildinfo"
)

// Manual writes counterd's manual page (section 8) as go-md2man markdown,
// dated date. Its options come from newFlagSet, the list --help prints, so
// the page says what the program does.
func Manual(w io.Writer, date time.Time) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%% COUNTERD 8 %q %q %q\n", date.UTC().Format("January 2006"), "counter "+buildinfo.String(), "counter")
	b.WriteString(`

# NAME
counterd - serve the global counter page and its API from Redis

# SYNOPSIS
**counterd** [*flags*]

# DESCRIPTION
**counterd** serves one global number and a button. Reads come from the local
Redis node (**--redis**, a replica in the cluster) and are held in memory;
writes (registration, logins, increments) go to the master: the fixed
**--master**, or the one the **--sentinels** name for **--master-name**,
followed across failovers without a restart (same user, password and TLS as
**--redis**, for the master and the sentinels). With **--sentinels** a press is
answered 200 only once a replica the sentinels would promote first (lowest
non-zero replica-priority among the healthy ones) has acknowledged it
(**WAIT** in the press's pipeline), or any replica when none is healthy;
otherwise it is answered 503 "not known yet" as below.
An authenticated user may press once per rolling 24 hours, on the master's clock.
A press the master does not answer within **--redis-timeout** may still count,
so it is answered 503 "not known yet" with **Retry-After**, never "not
counted"; pressing again returns that press's own answer (200, its value,
header **Counter-Earlier-Press**) if it counted, or counts now if it did not.
A logout clears the cookies at once; if the master does not take it, the
session is ended there as soon as it answers.

Routes: **GET /** the page; **GET /getvalue** the value; **GET /events** the
value as Server-Sent Events; **POST /register**, **POST /** (log in),
**POST /inc**, **POST /logout**; **GET /healthz**, **GET /readyz**. **GET /readyz** fails once the value is older than **--max-staleness**,
except, with **--sentinels**, on a replica whose master a majority of the
sentinels see down (the value was fresh when it was last seen): nobody can
write, so the replica stays ready and says so. At start counterd waits up to
**--redis-timeout** and one poll for its first value before it serves. A node with no
current value (Redis not answering yet, or a replica that has not synced since its
Redis started) answers **GET /**
and **GET /getvalue** with 503 and **Retry-After** "catching up", and holds
**GET /events** until it has one. Prometheus
**GET /metrics** is served only on the **--metrics-listen** address, never on
the public listeners (it tells the Go version, open files and Redis errors).

Limits: one client address (IPv6: one /64) holds at most **--max-conns-per-ip**
connections, more are closed at once; open event streams are capped at three
quarters of the file limit (**RLIMIT_NOFILE**, **LimitNOFILE=** in the unit), at
most 30,000, past which **/events** answers 503; an accept that fails for want of
descriptors is retried with a backoff, never fatal.

Every flag can also be set as **$COUNTERD_**_FLAG_ (for **--max-staleness**,
**$COUNTERD_MAX_STALENESS**) or as a key of the **--config** YAML file.
Precedence: flag, then environment, then file, then default. The Redis
password is never a flag: it comes from **--redis-password-file** or
**$COUNTERD_REDIS_PASSWORD**.

# OPTIONS
`)
	cfg := DefaultConfig()
	fs := newFlagSet(&cfg, &cliFlags{})
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "**--%s**", f.Name)
		if arg != "" {
			fmt.Fprintf(&b, " *%s*", arg)
		}
		fmt.Fprintf(&b, "\n: %s", manEscape(usage))
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0s" {
			fmt.Fprintf(&b, " (default **%s**)", manEscape(f.DefValue))
		}
		if !cliOnly(f.Name) || f.Name == "config" {
			fmt.Fprintf(&b, ". Environment: **$%s**", envName(f.Name))
		}
		b.WriteString(".\n\n")
	})
	b.WriteString(`# SIGNALS
**SIGTERM**, **SIGINT**
: stop accepting, end the event streams, let requests in flight finish within **--shutdown-timeout**.

# FILES
*/etc/counterd/counterd.yaml*
: the configuration **counterctl provision** writes (**--config**).

*/etc/counterd/redis.pass*
: the Redis password (**--redis-password-file**), readable by the counterd user only.

*/lib/systemd/system/counterd.service*
: the unit: a dedicated user, **ProtectSystem=strict**, **NoNewPrivileges**, **CAP_NET_BIND_SERVICE** only.

# EXIT STATUS
0 after a clean shutdown, **--help**, **--version** or a passing **--check-config**;
1 on any error, which is printed.

# SEE ALSO
**counterctl**(1), **redis-server**(1)
`)
	_, err := io.WriteString(w, b.String())
	return err
}

// manEscape keeps markdown from reading usage text as emphasis.
func manEscape(s string) string {
	return strings.NewReplacer("*", `\*`, "_", `\_`).Replace(s)
}
