// The account pages: each form[data-api] is sent as JSON to the API route it names, with
// the session's CSRF token; what happens next is the form's data-after.
(function () {
  "use strict";
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }
  function api(method, url, body) {
    var headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (csrf()) headers["X-CSRF-Token"] = csrf();
    return fetch(url, { method: method, headers: headers, credentials: "same-origin",
                        body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (response) {
        return response.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
          return { ok: response.ok, status: response.status, data: data };
        });
      });
  }
  function say(form, message) {
    var out = form.querySelector(".form-error");
    if (!out) return;
    out.textContent = message || "";
    out.hidden = !message;
  }
  function fields(form) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!element.name) return;
      if (element.dataset.type === "checkbox") { body[element.name] = element.checked; return; }
      if (element.dataset.type === "boolean") { body[element.name] = element.value === "true"; return; }
      if (element.value !== "") body[element.name] = element.value;
    });
    return body;
  }
  var after = {
    "reload": function () { location.reload(); },
    "totp-setup": function (data) {
      document.getElementById("totp-secret").textContent = data.secret;
      document.getElementById("totp-link").href = data.otpauth_url;
      document.getElementById("totp-setup").hidden = false;
      document.getElementById("totp-start-form").hidden = true;
      document.getElementById("code").focus();
    },
    "recovery-codes": function (data) {
      var list = document.getElementById("recovery-codes");
      list.textContent = "";
      data.recovery_codes.forEach(function (code) {
        var item = document.createElement("li");
        item.textContent = code;
        list.appendChild(item);
      });
      document.getElementById("totp-setup").hidden = true;
      document.getElementById("recovery").hidden = false;
      document.getElementById("totp-status").textContent = "On. Sign-in asks for a code from your authenticator app.";
      document.getElementById("totp-status").dataset.enabled = "true";
    },
    "invitation": function (data) {
      document.getElementById("invitation-url").textContent = data.invitation_url;
      document.getElementById("invitation").hidden = false;
    }
  };
  Array.prototype.forEach.call(document.querySelectorAll("form[data-api]"), function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      api(form.dataset.method || "POST", form.dataset.api, fields(form)).then(function (result) {
        if (button) button.disabled = false;
        if (!result.ok) {
          var error = (result.data && result.data.error) || {};
          if (error.code === "totp_required") {
            document.getElementById("second-factor").hidden = false;
            document.getElementById("totp_code").focus();
          }
          say(form, error.message || ("The request failed (" + result.status + ")."));
          return;
        }
        say(form, "");
        var next = form.dataset.after;
        if (after[next]) after[next](result.data || {});
        else if (next && next.charAt(0) === "/" && next.charAt(1) !== "/") location.assign(next);
      }, function () {
        if (button) button.disabled = false;
        say(form, "The server could not be reached.");
      });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("button[data-url]"), function (button) {
    button.addEventListener("click", function () {
      if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
      api(button.dataset.method || "POST", button.dataset.url).then(function (result) {
        if (result.ok) location.reload();
        else window.alert((result.data && result.data.error && result.data.error.message) || "The request failed.");
      });
    });
  });
})();
