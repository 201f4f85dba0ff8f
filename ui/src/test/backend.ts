// The tests' stand-in for the Rust backend: commands answered by a function, events mocked so
// screens can listen and tests can emit.
import type { InvokeArgs } from "@tauri-apps/api/core";
import { mockIPC } from "@tauri-apps/api/mocks";

export function mockBackend(handler: (cmd: string, args?: InvokeArgs) => unknown): void {
  mockIPC(handler, { shouldMockEvents: true });
}
