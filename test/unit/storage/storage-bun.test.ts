/** Runs the shared storage suite under Bun, once per driver (Bun also provides node:sqlite). */
import { test } from "bun:test"
import { bunSqliteDriver } from "../../../src/storage/bun-sqlite.ts"
import { nodeSqliteDriver } from "../../../src/storage/node-sqlite.ts"
import { modelSize, storageSuite } from "./suite.ts"

for (const driver of [bunSqliteDriver, nodeSqliteDriver]) {
  storageSuite({ driver, test, ...modelSize((name) => process.env[name]) })
}
