/**
 * Signing out: POST /logout with the session's CSRF token (the cookie Dash's renderer also
 * sends as X-CSRFToken), then to the login form. The server ends the session in its database.
 */
(function () {
  'use strict';

  /** The value of a cookie, or ''. */
  function cookie(name) {
    const hit = document.cookie.split('; ').find(function (c) { return c.indexOf(name + '=') === 0; });
    return hit ? decodeURIComponent(hit.slice(name.length + 1)) : '';
  }

  window.qzRuntime = Object.assign(window.qzRuntime || {}, {cookie: cookie});
  window.dash_clientside = Object.assign(window.dash_clientside || {}, {
    qz: Object.assign((window.dash_clientside || {}).qz || {}, {
      /** Header: the sign-out button. */
      logout: function () {
        fetch('/logout', {method: 'POST', credentials: 'same-origin', redirect: 'manual',
                          headers: {'X-CSRFToken': cookie('_csrf_token')}})
          .finally(function () { window.location.assign('/login'); });
        return '';
      },
    }),
  });
}());
