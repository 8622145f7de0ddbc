/** User administration (admins): create accounts, change roles, reset passwords, disable/enable. */

import type { UserAccount } from "@bitvelocity/api";
import { scrollTable } from "../components/scroll-table.js";
import { errorBox, errorText, loading, panel, pill } from "../components/ui.js";
import { api } from "../lib/api.js";
import { h, replace } from "../lib/dom.js";
import { clock } from "../lib/format.js";
import { type Page, Scope } from "../lib/scope.js";

const ROLES = ["viewer", "operator", "admin"] as const;

export function usersPage(): Page {
  const scope = new Scope();
  const el = h("main", { class: "page" }, loading());
  load(el, scope).catch((err: unknown) => {
    if (!scope.disposed) replace(el, errorBox(err));
  });
  return { el, scope, title: "Users" };
}

async function load(el: HTMLElement, scope: Scope): Promise<void> {
  const { users } = await api.users();
  if (scope.disposed) return;
  let list = users;
  const body = h("div");
  const notice = h("div", { role: "status" });
  const done = (user: UserAccount, what: string) => {
    list = list.some((u) => u.username === user.username) ? list.map((u) => (u.username === user.username ? user : u)) : [...list, user];
    replace(notice, h("div", { class: "notice notice-muted" }, what));
    render();
  };
  const failed = (err: unknown) => replace(notice, h("div", { class: "notice notice-bad" }, errorText(err)));
  const change = (u: UserAccount, patch: { role?: string; password?: string; disabled?: boolean }, what: string) => {
    api
      .updateUser(u.username, patch)
      .then(({ user }) => done(user, what))
      .catch(failed);
  };
  const render = () => replace(body, userTable(list, change));

  const username = h("input", {
    class: "input",
    placeholder: "username",
    autocomplete: "off",
    testid: "user-new-name",
    "aria-label": "Username",
  });
  const password = h("input", {
    class: "input",
    type: "password",
    placeholder: "password (8+ characters)",
    autocomplete: "new-password",
    testid: "user-new-password",
    "aria-label": "Password",
  });
  const role = h(
    "select",
    { class: "input", testid: "user-new-role", "aria-label": "Role" },
    ...ROLES.map((r) => h("option", { value: r }, r)),
  );
  const create = h(
    "form",
    { class: "filters" },
    username,
    password,
    role,
    h("button", { class: "btn btn-primary", type: "submit", testid: "user-create" }, "Create user"),
  );
  create.addEventListener("submit", (ev) => {
    ev.preventDefault();
    api
      .createUser({ username: username.value.trim(), password: password.value, role: role.value })
      .then(({ user }) => {
        username.value = "";
        password.value = "";
        done(user, `Created ${user.username}.`);
      })
      .catch(failed);
  });
  render();
  replace(
    el,
    h("div", { class: "page-head" }, h("div", { class: "title-row" }, h("h1", null, "Users"))),
    panel(
      h(
        "div",
        { class: "panel-title" },
        h("h2", null, "Accounts"),
        h("span", { class: "muted" }, "disabling ends the user's sessions at once"),
      ),
      create,
      notice,
      body,
    ),
  );
}

type Change = (u: UserAccount, patch: { role?: string; password?: string; disabled?: boolean }, what: string) => void;

function userTable(users: UserAccount[], change: Change): HTMLElement {
  const rows = users.map((u) => {
    const role = h(
      "select",
      { class: "input", testid: "user-role", "aria-label": `Role of ${u.username}` },
      ...ROLES.map((r) => h("option", { value: r, ...(r === u.role ? { selected: "selected" } : {}) }, r)),
    );
    role.addEventListener("change", () => change(u, { role: role.value }, `${u.username} is now ${role.value}.`));
    const reset = h("input", {
      class: "input",
      type: "password",
      placeholder: "new password",
      autocomplete: "new-password",
      testid: "user-password",
      "aria-label": `New password for ${u.username}`,
    });
    const resetButton = h(
      "button",
      {
        class: "btn btn-ghost",
        type: "button",
        testid: "user-reset",
        on: { click: () => change(u, { password: reset.value }, `Password of ${u.username} reset; their sessions ended.`) },
      },
      "Reset password",
    );
    const toggle = h(
      "button",
      {
        class: "btn btn-ghost",
        type: "button",
        testid: u.disabledAt === null ? "user-disable" : "user-enable",
        on: {
          click: () =>
            change(
              u,
              { disabled: u.disabledAt === null },
              u.disabledAt === null ? `${u.username} disabled and signed out.` : `${u.username} enabled.`,
            ),
        },
      },
      u.disabledAt === null ? "Disable" : "Enable",
    );
    return h(
      "tr",
      { testid: "user-row", data: { username: u.username, disabled: String(u.disabledAt !== null) } },
      h("td", null, h("div", { class: "strong" }, u.username), h("div", { class: "sub" }, u.source)),
      h("td", null, role),
      h("td", null, u.disabledAt === null ? pill("active", "ok") : h("span", { title: clock(u.disabledAt) }, pill("disabled", "muted"))),
      h("td", null, h("div", { class: "filters" }, reset, resetButton)),
      h("td", null, toggle),
    );
  });
  return scrollTable(
    "Users",
    h(
      "table",
      { class: "table", testid: "users" },
      h("thead", null, h("tr", null, ...["User", "Role", "State", "Password", ""].map((x) => h("th", null, x)))),
      h("tbody", null, ...rows),
    ),
  );
}
