/** Tenant names ↔ the small integers stored in every row. Few tenants, so all are cached. */
import type { SqliteDatabase } from "../storage/driver.ts"
import type { KvTables } from "./tables.ts"

export class TenantRegistry {
  private readonly ids = new Map<string, number>()

  constructor(
    private readonly db: SqliteDatabase,
    private readonly t: KvTables,
  ) {
    this.reload()
  }

  reload(): void {
    this.ids.clear()
    for (const r of this.db.prepare(`SELECT name, id FROM ${this.t.tenants}`).all()) {
      this.ids.set(String(r.name), Number(r.id))
    }
  }

  nameOf(id: number): string | undefined {
    for (const [name, known] of this.ids) if (known === id) return name
    return undefined
  }

  lookup(name: string): number | undefined {
    return this.ids.get(name)
  }

  /** Ids are handed out in order of first write, so every replica assigns the same ones. */
  ensure(name: string): number {
    const known = this.ids.get(name)
    if (known !== undefined) return known
    const id = this.ids.size + 1
    this.db.prepare(`INSERT INTO ${this.t.tenants} (name, id) VALUES (?, ?)`).run(name, id)
    this.ids.set(name, id)
    return id
  }

  /** Drops the cache entries of a rolled-back transaction. */
  forget(): void {
    this.reload()
  }
}
