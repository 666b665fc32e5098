// Passkeys in the browser: registering one, signing in with one, and the second factor.
//
// A form marked data-passkey="register" | "sign-in" | "second-factor" holds hidden
// challenge_id and credential fields. Its data-passkey-start button asks the
// server for a challenge (data-challenge) or reads one from the page
// (data-options), lets the browser's authenticator answer it, puts the answer
// in the form as JSON, and submits the form: refusals come back as a page.
"use strict";

(function () {
  function bytes(base64url) {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
  }

  function base64url(buffer) {
    let raw = "";
    new Uint8Array(buffer).forEach((b) => { raw += String.fromCharCode(b); });
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map((c) => Object.assign({}, c, { id: bytes(c.id) }));
  }

  function creationOptions(json) {
    return Object.assign({}, json, {
      challenge: bytes(json.challenge),
      user: Object.assign({}, json.user, { id: bytes(json.user.id) }),
      excludeCredentials: descriptors(json.excludeCredentials),
    });
  }

  function requestOptions(json) {
    return Object.assign({}, json, {
      challenge: bytes(json.challenge),
      allowCredentials: descriptors(json.allowCredentials),
    });
  }

  // The credential as JSON (WebAuthn Level 3 toJSON), built by hand where a browser lacks it.
  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") {
      return credential.toJSON();
    }
    const r = credential.response;
    const response = { clientDataJSON: base64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = base64url(r.attestationObject);
      response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    } else {
      response.authenticatorData = base64url(r.authenticatorData);
      response.signature = base64url(r.signature);
      if (r.userHandle) response.userHandle = base64url(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: base64url(credential.rawId),
      type: credential.type,
      response: response,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
    };
  }

  async function challenge(form) {
    if (form.dataset.options) {
      return { challenge_id: form.elements.challenge_id.value, options: JSON.parse(form.dataset.options) };
    }
    const body = new URLSearchParams({ csrf_token: form.elements.csrf_token.value });
    const response = await fetch(form.dataset.challenge, { method: "POST", body: body, credentials: "same-origin" });
    if (!response.ok) {
      throw new Error(response.status === 429 ? "Too many attempts. Wait a minute, then try again." : "The server could not start this. Reload the page and try again.");
    }
    return response.json();
  }

  async function answer(kind, options) {
    if (kind === "register") {
      return navigator.credentials.create({ publicKey: creationOptions(options) });
    }
    return navigator.credentials.get({ publicKey: requestOptions(options) });
  }

  function say(form, message) {
    const status = form.querySelector("[data-passkey-status]");
    if (status) {
      status.textContent = message;
      status.hidden = !message;
    }
  }

  async function start(form, button) {
    if (!window.PublicKeyCredential) {
      say(form, "This browser cannot use passkeys.");
      return;
    }
    button.disabled = true;
    say(form, "");
    try {
      const ceremony = await challenge(form);
      const credential = await answer(form.dataset.passkey, ceremony.options);
      form.elements.challenge_id.value = ceremony.challenge_id;
      form.elements.credential.value = JSON.stringify(credentialJSON(credential));
      form.submit();
    } catch (error) {
      button.disabled = false;
      say(form, error && error.name === "NotAllowedError" ? "The passkey was not used. Try again when you are ready." : (error && error.message) || "That did not work. Try again.");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("form[data-passkey]").forEach((form) => {
      const button = form.querySelector("[data-passkey-start]");
      if (button) {
        button.addEventListener("click", () => start(form, button));
      }
    });
  });
})();
