/** The login page: username and password, errors shown inline (401 bad credentials, 429 too many tries). */

import type { User } from "@bitvelocity/api";
import { ApiError, api } from "../lib/api.js";
import { h, setText } from "../lib/dom.js";
import { type Page, Scope } from "../lib/scope.js";

export function loginPage(onLoggedIn: (user: User) => void): Page {
  const scope = new Scope();
  const username = h("input", {
    id: "login-username",
    name: "username",
    type: "text",
    autocomplete: "username",
    required: true,
    testid: "login-username",
  });
  const password = h("input", {
    id: "login-password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
    testid: "login-password",
  });
  const error = h("div", { class: "notice notice-bad", role: "alert", "aria-live": "polite", testid: "login-error" });
  error.hidden = true;
  const submit = h("button", { class: "btn btn-primary btn-block", type: "submit", testid: "login-submit" }, "Sign in");

  const showError = (text: string) => {
    setText(error, text);
    error.hidden = false;
  };

  const form = h(
    "form",
    { class: "login-form" },
    h("label", { for: "login-username" }, "Username"),
    username,
    h("label", { for: "login-password" }, "Password"),
    password,
    error,
    submit,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    error.hidden = true;
    if (!username.value.trim() || !password.value) {
      showError("Enter a username and a password.");
      return;
    }
    submit.disabled = true;
    setText(submit, "Signing in…");
    api
      .login(username.value.trim(), password.value)
      .then(({ user }) => {
        if (!scope.disposed) onLoggedIn(user);
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 401) showError("Wrong username or password.");
        else if (err instanceof ApiError && err.status === 429) showError("Too many attempts. Wait a minute and try again.");
        else showError(err instanceof Error ? err.message : String(err));
        password.select();
      })
      .finally(() => {
        submit.disabled = false;
        setText(submit, "Sign in");
      });
  });

  const el = h(
    "main",
    { class: "login" },
    h(
      "div",
      { class: "login-card" },
      h(
        "div",
        { class: "login-brand" },
        h("span", { class: "brand-mark brand-mark-lg" }, "BV"),
        h("div", null, h("h1", null, "BitVelocity"), h("p", { class: "muted" }, "Fleet operations console")),
      ),
      form,
    ),
  );
  queueMicrotask(() => username.focus());
  return { el, scope, title: "Sign in" };
}
