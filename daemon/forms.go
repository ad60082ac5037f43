package daemon

import (
	"errors"
	"net/http"
	"unicode/utf8"
)

// Limits on what users may choose.
const (
	minLogin, maxLogin       = 3, 64
	minPassword, maxPassword = 8, 1024
	maxBody                  = 8 << 10
)

// credentials is a login and password as a client sent them.
type credentials struct{ login, password string }

// validLogin reports whether login is 3-64 of [A-Za-z0-9._-], with the reason if not.
func validLogin(login string) error {
	if len(login) < minLogin || len(login) > maxLogin {
		return &badRequest{"login must be 3 to 64 characters"}
	}
	for i := 0; i < len(login); i++ {
		c := login[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return &badRequest{"login may only hold letters A-Z a-z, digits and . _ -"}
		}
	}
	return nil
}

// validPassword reports whether password is 8-1024 bytes of UTF-8, with the reason if not.
func validPassword(password string) error {
	if len(password) < minPassword {
		return &badRequest{"password must be at least 8 bytes"}
	}
	if len(password) > maxPassword {
		return &badRequest{"password must be at most 1024 bytes"}
	}
	if !utf8.ValidString(password) {
		return &badRequest{"password must be valid UTF-8"}
	}
	return nil
}

// newCredentials reads and fully validates the login and password of a registration.
func newCredentials(r *http.Request) (credentials, error) {
	c, err := formFields(r)
	if err != nil {
		return c, err
	}
	if err := validLogin(c.login); err != nil {
		return c, err
	}
	return c, validPassword(c.password)
}

// loginCredentials reads the login and password of a login attempt. Ones that could
// never have been registered get the same answer as a wrong password.
func loginCredentials(r *http.Request) (credentials, error) {
	c, err := formFields(r)
	if err != nil {
		return c, err
	}
	return c, checkShape(c)
}

// requestCredentials takes credentials from the form or, failing that, HTTP Basic auth.
func requestCredentials(r *http.Request) (credentials, error) {
	if err := parseForm(r); err != nil {
		return credentials{}, err
	}
	if r.PostForm.Get("login") == "" {
		login, password, ok := r.BasicAuth()
		if !ok {
			return credentials{}, errBadCredentials
		}
		c := credentials{login: login, password: password}
		return c, checkShape(c)
	}
	return loginCredentials(r)
}

func checkShape(c credentials) error {
	if validLogin(c.login) != nil || validPassword(c.password) != nil {
		return errBadCredentials
	}
	return nil
}

func formFields(r *http.Request) (credentials, error) {
	if err := parseForm(r); err != nil {
		return credentials{}, err
	}
	c := credentials{login: r.PostForm.Get("login"), password: r.PostForm.Get("password")}
	if c.login == "" || c.password == "" {
		return c, &badRequest{"login and password are required"}
	}
	return c, nil
}

// parseForm parses a urlencoded body, capped by the caller's http.MaxBytesReader.
func parseForm(r *http.Request) error {
	if r.PostForm != nil {
		return nil
	}
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return tooBig
		}
		return &badRequest{"malformed form"}
	}
	return nil
}
