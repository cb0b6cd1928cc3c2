/**
 * Runs the shared storage suite under Deno with the node:sqlite driver.
 *   ./node_modules/.bin/deno test --allow-read --allow-write --allow-env test/deno/
 * (Named `test.ts` so that `deno test` finds it and `bun test` does not.)
 */
import { nodeSqliteDriver } from "../../../src/storage/node-sqlite.ts"
import { modelSize, storageSuite } from "../../unit/storage/suite.ts"

declare const Deno: {
  test(name: string, fn: () => void | Promise<void>): void
  env: { get(name: string): string | undefined }
}

storageSuite({
  driver: nodeSqliteDriver,
  test: (name, fn) => Deno.test(name, fn),
  ...modelSize((n) => Deno.env.get(n)),
})
