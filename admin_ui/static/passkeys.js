/* Passkeys (WebAuthn) of the login page, the second-factor pages and /mfa (admin_ui/auth/passkeys.py).
   No inline script (the CSP forbids it): the pages carry the URLs in data- attributes and the CSRF token
   in <meta name="csrf-token">. Options and responses travel as JSON (base64url for binary values). */
(function () {
  "use strict";

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer), text = "";
    for (var i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromBase64url(value) {
    var text = atob(value.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((value.length + 3) % 4));
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) { bytes[i] = text.charCodeAt(i); }
    return bytes.buffer;
  }

  function withIds(list) {
    return (list || []).map(function (item) {
      return Object.assign({}, item, { id: fromBase64url(item.id) });
    });
  }

  function creationOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: fromBase64url(json.challenge),
      user: Object.assign({}, json.user, { id: fromBase64url(json.user.id) }),
      excludeCredentials: withIds(json.excludeCredentials)
    });
  }

  function requestOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: fromBase64url(json.challenge),
      allowCredentials: withIds(json.allowCredentials)
    });
  }

  function credentialJSON(credential) {
    var response = credential.response, out = {
      id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toBase64url(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      out.response.attestationObject = toBase64url(response.attestationObject);
      out.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      out.response.authenticatorData = toBase64url(response.authenticatorData);
      out.response.signature = toBase64url(response.signature);
      out.response.userHandle = response.userHandle ? toBase64url(response.userHandle) : null;
    }
    return out;
  }

  function csrfToken() {  // the page's <meta name="csrf-token">, else the token of its first form
    var meta = document.querySelector('meta[name="csrf-token"]');
    var input = document.querySelector('input[name="csrf_token"]');
    return meta ? meta.getAttribute("content") : (input ? input.value : "");
  }

  function postJSON(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.message || ""); }
        return data;
      });
    });
  }

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials);
  }

  function show(box, text) {
    if (box) { box.textContent = text; }
  }

  function failure(box) {
    return function (error) {
      // NotAllowedError: the person cancelled or the time ran out; the server's message otherwise
      var text = error && error.name !== "NotAllowedError" && error.message ? error.message : "";
      show(box, text || (box && box.getAttribute("data-failed")) || "");
    };
  }

  function assertion(optionsUrl, mediation, signal) {
    return postJSON(optionsUrl).then(function (json) {
      var request = { publicKey: requestOptions(json) };
      if (mediation) { request.mediation = mediation; }
      if (signal) { request.signal = signal; }
      return navigator.credentials.get(request);
    });
  }

  function setUpLogin(container) {
    var button = document.getElementById("passkey-login"), box = document.getElementById("passkey-error");
    var optionsUrl = container.getAttribute("data-options-url"), submitUrl = container.getAttribute("data-submit-url");
    var next = container.getAttribute("data-next") || "";
    var pending = null;

    function finish(credential) {
      if (!credential) { return null; }
      return postJSON(submitUrl, { credential: credentialJSON(credential), next: next }).then(function (data) {
        window.location.assign(data.redirect || "/");
      });
    }

    function conditional() {
      if (!PublicKeyCredential.isConditionalMediationAvailable) { return; }
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (!available) { return; }
        pending = new AbortController();
        assertion(optionsUrl, "conditional", pending.signal).then(finish).catch(function (error) {
          if (error && error.name !== "AbortError") { failure(box)(error); }
        });
      });
    }

    button.addEventListener("click", function () {
      show(box, "");
      if (!supported()) { show(box, box.getAttribute("data-unsupported")); return; }
      if (pending) { pending.abort(); pending = null; }
      assertion(optionsUrl).then(finish).catch(failure(box));
    });
    if (supported()) { conditional(); }
  }

  function setUpVerify(container) {
    var button = document.getElementById("passkey-verify"), box = document.getElementById("passkey-error");
    button.addEventListener("click", function () {
      show(box, "");
      if (!supported()) { show(box, box.getAttribute("data-unsupported")); return; }
      assertion(container.getAttribute("data-options-url")).then(function (credential) {
        return postJSON(container.getAttribute("data-submit-url"), { credential: credentialJSON(credential) });
      }).then(function (data) {
        window.location.assign(data.redirect || "/");
      }).catch(failure(box));
    });
  }

  function setUpRegister(container) {
    var button = document.getElementById("passkey-register"), box = document.getElementById("passkey-message");
    var nameInput = document.getElementById("passkey-name");
    button.addEventListener("click", function () {
      show(box, "");
      if (!supported()) { show(box, box.getAttribute("data-unsupported")); return; }
      if (!nameInput.reportValidity()) { return; }
      postJSON(container.getAttribute("data-options-url")).then(function (json) {
        return navigator.credentials.create({ publicKey: creationOptions(json) });
      }).then(function (credential) {
        return postJSON(container.getAttribute("data-submit-url"),
                        { name: nameInput.value, credential: credentialJSON(credential) });
      }).then(function (data) {
        if (data.redirect) { window.location.assign(data.redirect); } else { window.location.reload(); }
      }).catch(failure(box));
    });
  }

  function setUpDelete(form) {
    var button = form.querySelector(".passkey-reauth");
    if (!button) { return; }
    if (!supported()) { button.hidden = true; return; }
    button.addEventListener("click", function () {
      assertion(form.getAttribute("data-reauth-url")).then(function (credential) {
        form.querySelector('input[name="passkey_assertion"]').value = JSON.stringify(credentialJSON(credential));
        form.submit();
      }).catch(failure(document.getElementById("passkey-message")));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var login = document.querySelector(".passkey-login");
    if (login) { setUpLogin(login); }
    var verify = document.querySelector(".passkey-verify");
    if (verify) { setUpVerify(verify); }
    var register = document.querySelector(".passkey-register");
    if (register) { setUpRegister(register); }
    document.querySelectorAll("form.passkey-delete").forEach(setUpDelete);
  });
}());
