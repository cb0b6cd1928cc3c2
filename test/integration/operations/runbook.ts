/**
 * The runnable blocks of docs/operations.md: every ```bash block that follows a
 * `<!-- runbook: id=NAME [expect="regex"]… [exit=N] [background] [skip="why"] -->` comment.
 */

export interface RunbookBlock {
  readonly id: string
  /** 1-based line of the block's opening fence in the document. */
  readonly line: number
  readonly script: string
  /** Regexes (multiline) the block's stdout + stderr must match. */
  readonly expect: readonly RegExp[]
  readonly exit: number
  /** Started and left running (a `lattice start`), not awaited. */
  readonly background: boolean
  /** Why the block is not run, or null. */
  readonly skip: string | null
}

export interface Runbook {
  readonly blocks: readonly RunbookBlock[]
  /** `bash`/`sh` blocks with no runbook comment before them: each is a line number. */
  readonly unmarked: readonly number[]
}

const MARKER = /^<!--\s*runbook:\s*(.*?)\s*-->\s*$/
const SHELL_FENCE = /^```(bash|sh)\s*$/

const parseAttributes = (text: string): Map<string, string[]> => {
  const attrs = new Map<string, string[]>()
  for (const m of text.matchAll(/([a-z]+)(?:=(?:"((?:[^"\\]|\\.)*)"|(\S+)))?/g)) {
    const value = (m[2] ?? m[3] ?? "").replaceAll('\\"', '"')
    attrs.set(m[1]!, [...(attrs.get(m[1]!) ?? []), value])
  }
  return attrs
}

export const parseRunbook = (markdown: string): Runbook => {
  const lines = markdown.split("\n")
  const blocks: RunbookBlock[] = []
  const unmarked: number[] = []
  let pending: { attrs: Map<string, string[]>; line: number } | null = null
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const marker = MARKER.exec(line)
    if (marker !== null) {
      pending = { attrs: parseAttributes(marker[1]!), line: i + 1 }
      continue
    }
    if (line.startsWith("```")) {
      const start = i
      const body: string[] = []
      for (i++; i < lines.length && !lines[i]!.startsWith("```"); i++) body.push(lines[i]!)
      if (SHELL_FENCE.test(line)) {
        if (pending === null) unmarked.push(start + 1)
        else {
          const a = pending.attrs
          const id = a.get("id")?.[0]
          if (id === undefined) throw new Error(`docs line ${pending.line}: a runbook comment needs id=NAME`)
          blocks.push({
            id,
            line: start + 1,
            script: body.join("\n"),
            expect: (a.get("expect") ?? []).map((r) => new RegExp(r, "m")),
            exit: Number(a.get("exit")?.[0] ?? 0),
            background: a.has("background"),
            skip: a.get("skip")?.[0] ?? null,
          })
        }
      }
      pending = null
      continue
    }
    if (line.trim() !== "") pending = null
  }
  return { blocks, unmarked }
}
