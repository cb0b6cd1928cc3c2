/**
 * Generates `src/adapters/etcd/proto/etcd.gen.ts` from our own .proto files in `proto/`:
 * TypeScript interfaces, binary encode/decode and etcd-gateway JSON codecs, and service
 * descriptors. The output needs no .proto file (and no protobufjs) at run time.
 *
 *   bun scripts/gen-etcd-proto.ts [OUT_FILE]
 *
 * protobufjs is used only to parse the .proto files.
 */
import { writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import protobuf from "protobufjs"

const ROOT_DIR = resolve(import.meta.dir, "..")
export const PROTO_DIR = join(ROOT_DIR, "proto")
export const PROTO_FILES = [
  "etcd/mvccpb.proto",
  "etcd/rpc.proto",
  "etcd/v3election.proto",
  "etcd/v3lock.proto",
  "grpc/health.proto",
]
export const DEFAULT_OUT = join(ROOT_DIR, "src/adapters/etcd/proto/etcd.gen.ts")

type Kind = "int64" | "uint64" | "int32" | "uint32" | "bool" | "string" | "bytes" | "enum" | "message"

interface FieldInfo {
  readonly protoName: string
  readonly camel: string
  readonly id: number
  readonly kind: Kind
  readonly repeated: boolean
  readonly oneof: boolean
  /** TS name of the referenced message or enum type. */
  readonly ref?: string
  /** Go name of an enum type, for error messages. */
  readonly goName?: string
  /** The other members of this field's oneof: setting one clears them (last one wins). */
  readonly siblings: readonly string[]
}

const camelCase = (s: string): string => s.replace(/_(.)/g, (_m, c: string) => c.toUpperCase())

/** TS name of a type: nested types are joined with "_" (RangeRequest.SortOrder → RangeRequest_SortOrder). */
const tsName = (t: protobuf.ReflectionObject): string => {
  const parts: string[] = []
  let cur: protobuf.ReflectionObject | null = t
  while (cur && (cur instanceof protobuf.Type || cur instanceof protobuf.Enum)) {
    parts.unshift(cur.name)
    cur = cur.parent
  }
  return parts.join("_")
}

const fullName = (t: protobuf.ReflectionObject): string => t.fullName.replace(/^\./, "")

/** The Go type name of an enum, as golang/protobuf names it in JSON errors (etcdserverpb.RangeRequest_SortOrder). */
const goEnumName = (e: protobuf.Enum): string => {
  let ns: protobuf.ReflectionObject | null = e.parent
  while (ns instanceof protobuf.Type) ns = ns.parent
  const pkg = ns === null ? "" : fullName(ns)
  return pkg === "" ? tsName(e) : `${pkg}.${tsName(e)}`
}

const collect = (
  ns: protobuf.NamespaceBase,
  types: protobuf.Type[],
  enums: protobuf.Enum[],
  services: protobuf.Service[],
) => {
  for (const child of ns.nestedArray) {
    if (child instanceof protobuf.Type) types.push(child)
    else if (child instanceof protobuf.Enum) enums.push(child)
    else if (child instanceof protobuf.Service) services.push(child)
    if (child instanceof protobuf.Namespace || child instanceof protobuf.Type)
      collect(child, types, enums, services)
  }
}

const fieldInfo = (f: protobuf.Field): FieldInfo => {
  if (f.map) throw new Error(`${f.fullName}: map fields are not supported`)
  const siblings = f.partOf === null ? [] : f.partOf.oneof.filter((n) => n !== f.name).map(camelCase)
  const base = {
    protoName: f.name,
    camel: camelCase(f.name),
    id: f.id,
    repeated: f.repeated,
    oneof: f.partOf !== null,
    siblings,
  }
  const rt = f.resolvedType
  if (rt instanceof protobuf.Type) return { ...base, kind: "message", ref: tsName(rt) }
  if (rt instanceof protobuf.Enum) return { ...base, kind: "enum", ref: tsName(rt), goName: goEnumName(rt) }
  switch (f.type) {
    case "int64":
    case "uint64":
    case "int32":
    case "uint32":
    case "bool":
    case "string":
    case "bytes":
      return { ...base, kind: f.type }
    default:
      throw new Error(`${f.fullName}: type ${f.type} is not supported by the generator`)
  }
}

const TS_TYPE: Record<Exclude<Kind, "enum" | "message">, string> = {
  int64: "bigint",
  uint64: "bigint",
  int32: "number",
  uint32: "number",
  bool: "boolean",
  string: "string",
  bytes: "Uint8Array",
}

const tsType = (f: FieldInfo): string => {
  const one = f.kind === "message" || f.kind === "enum" ? f.ref! : TS_TYPE[f.kind]
  return f.repeated ? `${one}[]` : one
}

const DEFAULT: Record<Exclude<Kind, "message">, string> = {
  int64: "0n",
  uint64: "0n",
  int32: "0",
  uint32: "0",
  bool: "false",
  string: '""',
  bytes: "EMPTY_BYTES",
  enum: "0",
}

const isVarint = (k: Kind) => k !== "string" && k !== "bytes" && k !== "message"
const WRITE: Record<Exclude<Kind, "message">, string> = {
  int64: "int64",
  uint64: "uint64",
  int32: "int32",
  uint32: "uint32",
  bool: "bool",
  string: "string",
  bytes: "bytes",
  enum: "int32",
}
const READ = WRITE

/** Condition under which a singular non-oneof scalar differs from its proto3 default. */
const nonDefault = (k: Exclude<Kind, "message">, v: string): string => {
  switch (k) {
    case "int64":
    case "uint64":
      return `${v} !== undefined && ${v} !== 0n`
    case "int32":
    case "uint32":
    case "enum":
      return `${v} !== undefined && ${v} !== 0`
    case "bool":
      return `${v} === true`
    case "string":
      return `${v} !== undefined && ${v} !== ""`
    case "bytes":
      return `${v} !== undefined && ${v}.length > 0`
  }
}

const genWrite = (name: string, fields: FieldInfo[]): string[] => {
  const p = fields.length === 0 ? "_" : ""
  const out = [`export function write${name}(${p}m: ${name}, ${p}w: ProtoWriter): void {`]
  for (const f of fields) {
    const v = `m.${f.camel}`
    if (f.kind === "message") {
      const tag = (f.id << 3) | 2
      if (f.repeated) {
        out.push(
          `  if (${v} !== undefined) for (const x of ${v}) { w.uint32(${tag}); w.fork(); write${f.ref}(x, w); w.ldelim() }`,
        )
      } else
        out.push(
          `  if (${v} !== undefined) { w.uint32(${tag}); w.fork(); write${f.ref}(${v}, w); w.ldelim() }`,
        )
      continue
    }
    const op = WRITE[f.kind]
    if (f.repeated) {
      if (isVarint(f.kind)) {
        // proto3 packs repeated scalars.
        out.push(
          `  if (${v} !== undefined && ${v}.length > 0) { w.uint32(${(f.id << 3) | 2}); w.fork(); for (const x of ${v}) w.${op}(x); w.ldelim() }`,
        )
      } else
        out.push(
          `  if (${v} !== undefined) for (const x of ${v}) { w.uint32(${(f.id << 3) | 2}); w.${op}(x) }`,
        )
      continue
    }
    const tag = (f.id << 3) | (isVarint(f.kind) ? 0 : 2)
    // A oneof member that is set is written even when it holds the default value.
    const cond = f.oneof ? `${v} !== undefined` : nonDefault(f.kind, v)
    out.push(`  if (${cond}) { w.uint32(${tag}); w.${op}(${v}) }`)
  }
  out.push("}")
  return out
}

const genRead = (name: string, fields: FieldInfo[]): string[] => {
  const init = fields
    .filter((f) => !f.oneof && (f.repeated || f.kind !== "message"))
    .map((f) => `${f.camel}: ${f.repeated ? "[]" : DEFAULT[f.kind as Exclude<Kind, "message">]}`)
  const out = [
    `export function read${name}(r: ProtoReader, end: number): ${name} {`,
    `  const m: ${name} = { ${init.join(", ")} }`,
    "  while (r.pos < end) {",
    "    const t = r.uint32()",
    "    const wt = t & 7",
    "    switch (t >>> 3) {",
  ]
  for (const f of fields) {
    const v = `m.${f.camel}`
    out.push(`      case ${f.id}:`)
    if (f.kind === "message") {
      out.push(`        if (wt !== 2) r.wrongWireType(${f.id}, wt)`)
      const read = `read${f.ref}(r, r.sub())`
      out.push(f.repeated ? `        ${v}!.push(${read})` : `        ${v} = ${read}`)
    } else {
      const op = READ[f.kind]
      const expected = isVarint(f.kind) ? 0 : 2
      if (f.repeated && isVarint(f.kind)) {
        out.push(`        if (wt === 2) { const e = r.sub(); while (r.pos < e) ${v}!.push(r.${op}()) }`)
        out.push(`        else if (wt === 0) ${v}!.push(r.${op}())`)
        out.push(`        else r.wrongWireType(${f.id}, wt)`)
      } else {
        out.push(`        if (wt !== ${expected}) r.wrongWireType(${f.id}, wt)`)
        out.push(f.repeated ? `        ${v}!.push(r.${op}())` : `        ${v} = r.${op}()`)
      }
    }
    for (const sib of f.siblings) out.push(`        m.${sib} = undefined`)
    out.push("        break")
  }
  out.push(
    "      default:",
    "        r.skip(wt)",
    "    }",
    "  }",
    `  if (r.pos !== end) throw new ProtoDecodeError("embedded message overruns its length")`,
    "  return m",
    "}",
  )
  return out
}

const jsonValue = (f: FieldInfo, x: string): string => {
  switch (f.kind) {
    case "int64":
    case "uint64":
      return `\`"\${${x}}"\``
    case "int32":
    case "uint32":
      return `String(${x})`
    case "bool":
      return `String(${x})`
    case "string":
      return `goQuote(${x})`
    case "bytes":
      return `\`"\${base64Encode(${x})}"\``
    case "enum":
      return `enumJson(${f.ref}$names, ${x})`
    case "message":
      return `toJson${f.ref}(${x})`
  }
}

const genToJson = (name: string, fields: FieldInfo[]): string[] => {
  if (fields.length === 0)
    return [`export function toJson${name}(_m: ${name}): string {`, '  return "{}"', "}"]
  const out = [`export function toJson${name}(m: ${name}): string {`, '  let s = ""']
  for (const f of fields) {
    const v = `m.${f.camel}`
    const key = `,"${f.protoName}":`
    if (f.repeated) {
      out.push(
        `  if (${v} !== undefined && ${v}.length > 0) s += \`${key}[\${${v}.map((x) => ${jsonValue(f, "x")}).join(",")}]\``,
      )
    } else if (f.kind === "message" || f.oneof) {
      out.push(`  if (${v} !== undefined) s += \`${key}\${${jsonValue(f, v)}}\``)
    } else {
      out.push(`  if (${nonDefault(f.kind, v)}) s += \`${key}\${${jsonValue(f, v)}}\``)
    }
  }
  // biome-ignore lint/suspicious/noTemplateCurlyInString: this is generated source text, not a template
  out.push('  return s.length === 0 ? "{}" : `{${s.slice(1)}}`', "}")
  return out
}

const fromJsonValue = (f: FieldInfo, x: string, path: string): string => {
  switch (f.kind) {
    case "int64":
      return `jsonInt64(${x}, "${path}")`
    case "uint64":
      return `jsonUint64(${x}, "${path}")`
    case "int32":
      return `jsonInt32(${x}, "${path}")`
    case "uint32":
      return `jsonUint32(${x}, "${path}")`
    case "bool":
      return `jsonBool(${x}, "${path}")`
    case "string":
      return `jsonString(${x}, "${path}")`
    case "bytes":
      return `jsonBytes(${x}, "${path}")`
    case "enum":
      return `jsonEnum(${x}, "${path}", ${f.ref}, "${f.goName}")`
    case "message":
      return `fromJson${f.ref}(${x})`
  }
}

const genFromJson = (name: string, full: string, fields: FieldInfo[]): string[] => {
  const init = fields
    .filter((f) => !f.oneof && (f.repeated || f.kind !== "message"))
    .map((f) => `${f.camel}: ${f.repeated ? "[]" : DEFAULT[f.kind as Exclude<Kind, "message">]}`)
  const out = [
    `export function fromJson${name}(value: unknown): ${name} {`,
    fields.length === 0
      ? `  if (value !== undefined && value !== null) jsonObject(value, "${full}")`
      : `  const o = value === undefined || value === null ? {} : jsonObject(value, "${full}")`,
    `  const m: ${name} = { ${init.join(", ")} }`,
  ]
  if (fields.length > 0) out.push("  let v: unknown")
  for (const f of fields) {
    const path = `${full}.${f.protoName}`
    const v = `m.${f.camel}`
    out.push(`  v = jsonField(o, "${f.protoName}", "${f.camel}")`)
    if (f.repeated) {
      out.push(
        `  if (v !== undefined) ${v} = jsonArray(v, "${path}").map((x) => ${fromJsonValue(f, "x", path)})`,
      )
    } else out.push(`  if (v !== undefined) ${v} = ${fromJsonValue(f, "v", path)}`)
  }
  out.push("  return m", "}")
  return out
}

const genMessage = (t: protobuf.Type): string[] => {
  const name = tsName(t)
  const full = fullName(t)
  const fields = t.fieldsArray.map(fieldInfo)
  const out: string[] = [`/** ${full} */`, `export interface ${name} {`]
  for (const f of fields) {
    const note = f.oneof ? ` // oneof ${t.fields[f.protoName]!.partOf!.name}` : ""
    out.push(`  ${f.camel}?: ${tsType(f)}${note}`)
  }
  out.push("}", "")
  out.push(...genWrite(name, fields), "")
  out.push(...genRead(name, fields), "")
  out.push(...genToJson(name, fields), "")
  out.push(...genFromJson(name, full, fields), "")
  out.push(
    `export const encode${name} = (m: ${name}): Uint8Array => {`,
    "  const w = sharedWriter()",
    `  write${name}(m, w)`,
    "  return w.finish()",
    "}",
    `export const decode${name} = (b: Uint8Array): ${name} => read${name}(new ProtoReader(b), b.length)`,
    `export const ${name}Codec: MessageCodec<${name}> = {`,
    `  typeName: "${full}",`,
    `  encode: encode${name},`,
    `  decode: decode${name},`,
    `  toJson: toJson${name},`,
    `  fromJson: fromJson${name},`,
    "}",
    "",
  )
  return out
}

const genEnum = (e: protobuf.Enum): string[] => {
  const name = tsName(e)
  const entries = Object.entries(e.values)
  return [
    `/** ${fullName(e)}: an open proto3 enum, so unknown numbers are kept. */`,
    `export const ${name} = { ${entries.map(([k, v]) => `${k}: ${v}`).join(", ")} } as const`,
    `export type ${name} = number`,
    `const ${name}$names: { readonly [value: number]: string } = { ${entries.map(([k, v]) => `${v}: "${k}"`).join(", ")} }`,
    "",
  ]
}

const genService = (s: protobuf.Service): string[] => {
  const full = fullName(s)
  const out = [`/** ${full} */`, `export const ${s.name}Service = {`]
  for (const m of s.methodsArray) {
    const req = tsName(m.resolvedRequestType!)
    const res = tsName(m.resolvedResponseType!)
    out.push(
      `  ${m.name}: {`,
      `    service: "${full}",`,
      `    name: "${m.name}",`,
      `    path: "/${full}/${m.name}",`,
      `    requestStream: ${m.requestStream === true},`,
      `    responseStream: ${m.responseStream === true},`,
      `    request: ${req}Codec,`,
      `    response: ${res}Codec,`,
      `  } satisfies MethodDescriptor<${req}, ${res}>,`,
    )
  }
  out.push("} as const", "")
  return out
}

const JSON_HELPERS = [
  "base64Encode",
  "goQuote",
  "jsonArray",
  "jsonBool",
  "jsonBytes",
  "jsonEnum",
  "jsonField",
  "jsonInt32",
  "jsonInt64",
  "jsonObject",
  "jsonString",
  "jsonUint32",
  "jsonUint64",
]

export const generateEtcdCodecs = (): string => {
  const root = new protobuf.Root()
  root.resolvePath = (_origin, target) => join(PROTO_DIR, target)
  root.loadSync(PROTO_FILES, { keepCase: true })
  root.resolveAll()
  const types: protobuf.Type[] = []
  const enums: protobuf.Enum[] = []
  const services: protobuf.Service[] = []
  collect(root, types, enums, services)
  const seen = new Map<string, string>()
  for (const t of [...types, ...enums]) {
    const n = tsName(t)
    const prev = seen.get(n)
    if (prev !== undefined) throw new Error(`TS name collision: ${n} for ${prev} and ${fullName(t)}`)
    seen.set(n, fullName(t))
  }
  const lines: string[] = [
    `// Code generated by scripts/gen-etcd-proto.ts from ${PROTO_FILES.map((f) => `proto/${f}`).join(", ")}. DO NOT EDIT.`,
    "// int64/uint64 are bigint, bytes are Uint8Array; every field is optional on input and",
    "// decoders fill proto3 defaults for scalars and repeated fields. See proto/wire.ts and json.ts.",
    "/* eslint-disable */",
    'import type { MessageCodec, MethodDescriptor } from "./descriptor.ts"',
    "__JSON_IMPORTS__",
    'import { EMPTY_BYTES, ProtoDecodeError, ProtoReader, type ProtoWriter, sharedWriter } from "./wire.ts"',
    "",
    "const enumJson = (names: { readonly [value: number]: string }, v: number): string => {",
    "  const n = names[v]",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: this is generated source text, not a template
    '  return n === undefined ? String(v) : `"${n}"`',
    "}",
    "",
  ]
  for (const e of enums) lines.push(...genEnum(e))
  for (const t of types) lines.push(...genMessage(t))
  for (const s of services) lines.push(...genService(s))
  // Import only the JSON helpers the generated code uses (tsc's noUnusedLocals).
  const body = lines.join("\n")
  const helpers = JSON_HELPERS.filter((h) => new RegExp(`\\b${h}\\(`).test(body))
  return `${body.replace("__JSON_IMPORTS__", `import { ${helpers.join(", ")} } from "./json.ts"`)}\n`
}

if (import.meta.main) {
  const out = process.argv[2] ?? DEFAULT_OUT
  writeFileSync(out, generateEtcdCodecs())
  console.log(`wrote ${out}`)
}
