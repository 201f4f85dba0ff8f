// The tests' stand-in for the Rust backend: commands answered by a function, events mocked so
// screens can listen and tests can emit.
import type { InvokeArgs } from "@tauri-apps/api/core";
import { mockIPC } from "@tauri-apps/api/mocks";
import { SOURCES } from "./fixtures";

/** Commands a test does not answer itself fall back to these (the registry of sources). */
export function mockBackend(handler: (cmd: string, args?: InvokeArgs) => unknown): void {
  mockIPC(
    (cmd, args) => {
      const answer = handler(cmd, args);
      if (answer === undefined && cmd === "list_sources") return SOURCES;
      return answer;
    },
    { shouldMockEvents: true },
  );
}
