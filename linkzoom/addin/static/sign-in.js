/*
 * The add-in's sign-in dialog: the credentials go to linkzoom (local directory or LDAP, the same
 * login as the console); the device token comes back to the add-in with messageParent, never
 * through a URL. Outside Office (a window opened by /addin/try) it posts to its opener.
 */
/* global Office */
(function () {
  "use strict";
  var form = document.getElementById("sign-in");
  var problem = document.getElementById("problem");

  function hand(message) {
    var text = JSON.stringify(message);
    var send = function () {
      if (window.Office && Office.context && Office.context.ui && Office.context.ui.messageParent) {
        Office.context.ui.messageParent(text);
      } else if (window.opener) {
        window.opener.postMessage(text, window.location.origin);
      }
    };
    if (window.Office && Office.onReady) { Office.onReady(send); } else { send(); }
  }

  form.addEventListener("submit", function (submitted) {
    submitted.preventDefault();
    problem.textContent = "";
    var username = form.username.value.trim();
    var password = form.password.value;
    if (!username || !password) {
      problem.textContent = "Enter your username and password.";
      return;
    }
    var button = form.querySelector("button");
    button.disabled = true;
    fetch("/api/v1/sessions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: username, password: password, device_name: "Outlook add-in" })
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (answer) {
      if (!answer.ok) {
        problem.textContent = answer.body.detail || "Sign-in failed.";
        form.password.value = "";
        form.password.focus();
        return;
      }
      hand({ type: "linkzoom-session", token: answer.body.token, username: username });
    }).catch(function () {
      problem.textContent = "linkzoom cannot be reached. Check your connection and try again.";
    }).then(function () { button.disabled = false; });
  });
})();
