/**
 * The catalog of config keys, read from the schema's AST: section, key, doc text, type label,
 * value kind and environment variable. `config generate`, env/flag coercion, unknown-key
 * suggestions and the docs all come from here, so they cannot drift from the schema.
 */
import { Option, type SchemaAST } from "effect"
import { DocAnnotationId, LatticeConfigSchema, TypeLabelAnnotationId } from "../../schemas/config.ts"

export type ValueKind = "string" | "number" | "boolean" | "list" | "table" | "table-list"

export interface KeySpec {
  /** Path from the root, e.g. ["storage", "sync_on_write"]. */
  readonly path: ReadonlyArray<string>
  readonly doc: string
  readonly typeLabel: string
  readonly kind: ValueKind
  /** Kind of each element when kind is "list". */
  readonly itemKind?: ValueKind
  /** The default, when the key has one (sections and tables excluded). */
  readonly defaultValue?: unknown
  /** True when the key must be present (only inside tables such as a peer or a TLS block). */
  readonly required: boolean
  /** Keys inside, for "table" and "table-list". */
  readonly children: ReadonlyArray<KeySpec>
}

const annotation = (ast: SchemaAST.AST, id: symbol): string | undefined => {
  const value = ast.annotations[id]
  return typeof value === "string" ? value : undefined
}

/** Strip transformations and refinements down to the encoded-side structure. */
const encodedCore = (ast: SchemaAST.AST): SchemaAST.AST => {
  switch (ast._tag) {
    case "Transformation":
      return encodedCore(ast.from)
    case "Refinement":
      return encodedCore(ast.from)
    case "Suspend":
      return encodedCore(ast.f())
    default:
      return ast
  }
}

const kindOf = (ast: SchemaAST.AST): ValueKind => {
  const core = encodedCore(ast)
  switch (core._tag) {
    case "BooleanKeyword":
      return "boolean"
    case "NumberKeyword":
      return "number"
    case "TypeLiteral":
      return "table"
    case "TupleType": {
      const item = core.rest[0]
      return item !== undefined && kindOf(item.type) === "table" ? "table-list" : "list"
    }
    default:
      // Strings, string literals and the node-id union (string or integer) all take text.
      return "string"
  }
}

const itemOf = (ast: SchemaAST.AST): SchemaAST.AST | undefined => {
  const core = encodedCore(ast)
  return core._tag === "TupleType" ? core.rest[0]?.type : undefined
}

/** Defaults live in the struct's property transformations: decoding "absent" yields them. */
const defaultsOf = (ast: SchemaAST.AST): Map<PropertyKey, unknown> => {
  const defaults = new Map<PropertyKey, unknown>()
  const t = ast._tag === "Refinement" ? ast.from : ast
  if (t._tag === "Transformation" && t.transformation._tag === "TypeLiteralTransformation") {
    for (const pst of t.transformation.propertySignatureTransformations) {
      const value = pst.decode(Option.none())
      if (Option.isSome(value)) defaults.set(pst.to, value.value)
    }
  }
  return defaults
}

const fieldsOf = (ast: SchemaAST.AST, path: ReadonlyArray<string>): ReadonlyArray<KeySpec> => {
  const core = encodedCore(ast)
  if (core._tag !== "TypeLiteral") return []
  const defaults = defaultsOf(ast)
  return core.propertySignatures.map((ps) => specOf(ps, [...path, String(ps.name)], defaults))
}

/** The annotation may sit on the property's type or on an outer transformation of it. */
const findAnnotation = (ast: SchemaAST.AST, id: symbol): string | undefined => {
  const own = annotation(ast, id)
  if (own !== undefined) return own
  if (ast._tag === "Transformation" || ast._tag === "Refinement") return findAnnotation(ast.from, id)
  if (ast._tag === "Union") {
    // `optional` keys are encoded as `T | undefined`; look through the undefined member.
    const members = ast.types.filter((t) => t._tag !== "UndefinedKeyword")
    if (members.length === 1) return findAnnotation(members[0]!, id)
  }
  return undefined
}

const specOf = (
  ps: SchemaAST.PropertySignature,
  path: ReadonlyArray<string>,
  defaults: Map<PropertyKey, unknown>,
): KeySpec => {
  const kind = kindOf(ps.type)
  const item = itemOf(ps.type)
  const children =
    kind === "table" ? fieldsOf(ps.type, path) : kind === "table-list" && item ? fieldsOf(item, path) : []
  const itemKind = kind === "list" && item ? kindOf(item) : undefined
  return {
    path,
    doc: findAnnotation(ps.type, DocAnnotationId) ?? "",
    typeLabel:
      findAnnotation(ps.type, TypeLabelAnnotationId) ??
      (kind === "table" ? "table" : kind === "table-list" ? "array of tables" : kind),
    kind,
    ...(itemKind ? { itemKind } : {}),
    ...(defaults.has(ps.name) && kind !== "table" ? { defaultValue: defaults.get(ps.name) } : {}),
    required: !ps.isOptional,
    children,
  }
}

/** Every section of the config, in schema order. Computed once. */
export const configCatalog: ReadonlyArray<KeySpec> = fieldsOf(LatticeConfigSchema.ast, [])

/** The spec at a path; numeric segments (array indexes) step into table-list elements. */
export const specAt = (path: ReadonlyArray<string | number>): KeySpec | undefined => {
  let level: ReadonlyArray<KeySpec> = configCatalog
  let found: KeySpec | undefined
  for (const segment of path) {
    if (typeof segment === "number" || /^\d+$/.test(segment)) {
      if (found?.kind !== "table-list") return undefined
      continue
    }
    found = level.find((k) => k.path[k.path.length - 1] === segment)
    if (found === undefined) return undefined
    level = found.children
  }
  return found
}

/** Names known at the level that holds `path`'s last segment (for "did you mean"). */
export const siblingNames = (path: ReadonlyArray<string | number>): ReadonlyArray<string> => {
  const parent = path.slice(0, -1)
  const level = parent.length === 0 ? configCatalog : (specAt(parent)?.children ?? [])
  return level.map((k) => k.path[k.path.length - 1]!)
}

/** All leaf keys (not tables), depth first. */
export const leafKeys = (specs: ReadonlyArray<KeySpec> = configCatalog): ReadonlyArray<KeySpec> =>
  specs.flatMap((s) => (s.kind === "table" ? leafKeys(s.children) : [s]))

/** Dotted form used in messages: storage.sync_on_write, cluster.peers[0].id. */
export const dotted = (path: ReadonlyArray<string | number>): string =>
  path.reduce<string>(
    (acc, seg) => (typeof seg === "number" ? `${acc}[${seg}]` : acc === "" ? seg : `${acc}.${seg}`),
    "",
  )
