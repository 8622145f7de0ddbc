/** Commands: one button per catalog command (disabled for viewers), the parameter form, the live list. */

import type { CommandDef } from "@bitvelocity/api";
import { api } from "../lib/api.js";
import { h, replace } from "../lib/dom.js";
import { live } from "../lib/live.js";
import { label } from "../lib/metrics.js";
import type { Scope } from "../lib/scope.js";
import { session } from "../lib/session.js";
import { commandForm } from "./command-form.js";
import { CommandList } from "./command-list.js";
import { errorBox, panel } from "./ui.js";

export function commandsPanel(deviceId: string, commands: readonly CommandDef[], scope: Scope): HTMLElement {
  const list = new CommandList();
  const slot = h("div", { class: "form-slot" });
  const allowed = session.canCommand();
  const buttons = commands.map((c) => {
    const b = h(
      "button",
      {
        class: "btn btn-cmd",
        type: "button",
        testid: `command-${c.name}`,
        disabled: !allowed,
        title: allowed ? c.description : `Your role (${session.user?.role ?? "viewer"}) cannot send commands`,
        on: { click: () => open(c) },
      },
      label(c.name),
    );
    return b;
  });
  const open = (c: CommandDef) => {
    for (const [i, b] of buttons.entries()) b.classList.toggle("active", commands[i] === c);
    const close = () => {
      for (const b of buttons) b.classList.remove("active");
      replace(slot);
    };
    replace(
      slot,
      commandForm(
        deviceId,
        c,
        (sent) => {
          list.upsert(sent);
          close();
        },
        close,
      ),
    );
    slot.querySelector<HTMLElement>("input, select, button[type=submit]")?.focus();
  };

  api
    .commands(deviceId)
    .then(({ commands: past }) => list.set(past))
    .catch((err: unknown) => {
      if (!scope.disposed) slot.append(errorBox(err));
    });
  scope.add(
    live.on("command", (c) => {
      if (c.deviceId === deviceId) list.upsert(c);
    }),
  );
  scope.every(1000, () => list.tick());

  return panel(
    h(
      "div",
      { class: "panel-title" },
      h("h2", null, "Commands"),
      allowed ? null : h("span", { class: "muted", testid: "commands-readonly" }, "read-only for viewers"),
    ),
    commands.length
      ? h("div", { class: "command-buttons" }, ...buttons)
      : h("p", { class: "muted" }, "This device type accepts no commands."),
    slot,
    h("h3", { class: "subhead" }, "Recent commands"),
    list.el,
  );
}
