// Login (APP-5): username and password (OAuth password grant, with a refresh token so that the
// session lasts), or a pasted API token. After a session ended it says why, and the app goes
// back to the view it was on.
import { passwordLogin, takeEnded, whoAmI } from "../api.js";
import { h } from "../format.js";

export async function render(root, { onLogin }) {
  let mode = "password";
  const ended = takeEnded();
  const error = h("p", { class: "error", role: "alert", "data-testid": "login-error" });
  const user = h("input", { type: "text", id: "username", name: "username", autocomplete: "username", required: true });
  const pass = h("input", { type: "password", id: "password", name: "password", autocomplete: "current-password", required: true });
  const token = h("input", { type: "password", id: "token", name: "token", autocomplete: "off", spellcheck: "false" });
  const submit = h("button", { type: "submit" }, "Log in");
  const pwFields = h("div", { class: "grid-fields" },
    h("label", { class: "field", for: "username" }, "Username", user),
    h("label", { class: "field", for: "password" }, "Password", pass));
  const tokenFields = h("div", { hidden: true },
    h("label", { class: "field", for: "token" }, "API token", token),
    h("p", { class: "muted" }, "A token your operator gave you (sent as a bearer token; kept for this tab only)."));
  const toggle = h("button", { type: "button", class: "ghost", "data-testid": "login-mode" }, "Use an API token instead");
  toggle.addEventListener("click", () => {
    mode = mode === "password" ? "token" : "password";
    pwFields.hidden = mode !== "password";
    tokenFields.hidden = mode !== "token";
    user.required = pass.required = mode === "password";
    token.required = mode === "token";
    toggle.textContent = mode === "password" ? "Use an API token instead" : "Use username and password instead";
    (mode === "password" ? user : token).focus();
  });
  const form = h("form", { novalidate: false }, pwFields, tokenFields, error, submit, toggle);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    submit.textContent = "Logging in…";
    try {
      let session;
      if (mode === "password") {
        const answer = await passwordLogin(user.value.trim(), pass.value);
        session = await whoAmI(answer.access_token, answer.scope);
        session.subject ??= user.value.trim();
        session.refreshToken = answer.refresh_token ?? null;
        session.expiresAt = answer.expires_in ? Date.now() + answer.expires_in * 1000 : null;
        session.lifetimeS = answer.expires_in ?? null;
      } else {
        session = await whoAmI(token.value.trim(), null);
      }
      if (!session.households.length && !session.operator) {
        throw new Error("This account sees no household.");
      }
      await onLogin(session);
    } catch (err) {
      error.textContent = err.message;
      submit.disabled = false;
      submit.textContent = "Log in";
    }
  });
  root.append(h("section", { class: "login card" },
    h("div", { class: "brand" }, h("img", { src: document.querySelector(".brand img")?.getAttribute("src"), alt: "", width: 32, height: 32 }), "omdp energy"),
    h("h1", { class: "sr-only" }, "Log in"),
    ended.reason ? h("p", { class: "notice", role: "status", "data-testid": "session-ended" }, ended.reason,
      " Log in again to go back to where you were.") : null,
    form));
  user.focus();
}
