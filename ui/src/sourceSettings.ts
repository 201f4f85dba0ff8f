// An employee's source settings (`repo`, `team`, `github_label`…): the backend keeps them
// beside the employee's other keys, and each source says which it has (`SourceInfo.settings`),
// so the form and the first-run setup are made from that list, never from a source's name.
import type { Employee } from "./bindings/Employee";
import type { SourceInfo } from "./bindings/SourceInfo";

type WithSettings = Employee & { [key: string]: unknown };

/** The setting `key` of `e`, or "" when it is not set. */
export function settingOf(e: Employee, key: string): string {
  const v = (e as WithSettings)[key];
  return typeof v === "string" ? v : "";
}

/** `e` with the setting `key` set to `value` ("" removes it). */
export function withSetting(e: Employee, key: string, value: string): Employee {
  const out = { ...e } as WithSettings;
  if (value === "") delete out[key];
  else out[key] = value;
  return out;
}

/** `e` moved to `source`, without the settings of any other source. */
export function withSource(e: Employee, source: SourceInfo, all: SourceInfo[]): Employee {
  const out = { ...e, source: source.kind } as WithSettings;
  for (const other of all) {
    if (other.kind === source.kind) continue;
    for (const s of other.settings) delete out[s.key];
  }
  return out;
}

/** `to` with the settings of `from`'s source copied over (a template keeps what was picked). */
export function keepSettings(to: Employee, from: Employee, info: SourceInfo | undefined): Employee {
  let out = to;
  for (const s of info?.settings ?? []) out = withSetting(out, s.key, settingOf(from, s.key));
  return out;
}
