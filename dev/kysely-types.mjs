#!/usr/bin/env node
// A Prisma generator (run by `prisma generate`, see the `kysely` generator in prisma/schema.prisma) that
// writes the table types Kysely statements are checked against: one type per model with its columns as
// PostgreSQL returns them through node-postgres, and `DB`, every table by name. Offline, from the
// schema alone, like the client.
//
// Column types: String, and BigInt and Decimal (node-postgres returns int8 and numeric as strings),
// as string; Int and Float as number; Boolean; DateTime as `Timestamp` (read as a Date, written as a
// Date or an ISO string); Json as `JsonValue`; Bytes as Buffer; an enum as the union of its values. A
// list of an enum is a string (node-postgres returns an enum array as its literal, `{A,B}`); other
// lists are arrays. A column with a database default is `Generated` (optional on insert).
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import generatorHelper from '@prisma/generator-helper';

const SCALARS = {
  String: 'string',
  Int: 'number',
  Float: 'number',
  BigInt: 'string',
  Decimal: 'string',
  Boolean: 'boolean',
  DateTime: 'Timestamp',
  Json: 'JsonValue',
  Bytes: 'Buffer',
};

const quote = (name) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name));
const doc = (text, indent) => (text ? `${indent}/** ${text.replace(/\*\//g, '* /').split('\n').join(`\n${indent} * `)} */\n` : '');

function columnType(field) {
  let type;
  if (field.kind === 'enum') type = field.isList ? 'string' : field.type;
  else if (field.kind === 'scalar') {
    type = SCALARS[field.type];
    if (!type) throw new Error(`kysely-types: no type for ${field.type} (field ${field.name})`);
    if (field.isList) type = `${type}[]`;
  } else throw new Error(`kysely-types: unsupported field kind ${field.kind} (field ${field.name})`);
  if (!field.isRequired) type = `${type} | null`;
  return field.hasDefaultValue ? `Generated<${type}>` : type;
}

export function render(datamodel) {
  const out = [
    '// Written by dev/kysely-types.mjs from prisma/schema.prisma (`prisma generate`). Do not edit.',
    "import type { ColumnType } from 'kysely';",
    '',
    'export type Generated<T> = T extends ColumnType<infer S, infer I, infer U> ? ColumnType<S, I | undefined, U> : ColumnType<T, T | undefined, T>;',
    'export type Timestamp = ColumnType<Date, Date | string, Date | string>;',
    'export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };',
    '',
  ];
  for (const e of datamodel.enums) {
    out.push(`${doc(e.documentation, '')}export type ${e.name} = ${e.values.map((v) => JSON.stringify(v.dbName ?? v.name)).join(' | ')};`);
  }
  out.push('');
  const tables = [];
  for (const model of datamodel.models) {
    out.push(`${doc(model.documentation, '')}export interface ${model.name} {`);
    for (const field of model.fields) {
      if (field.kind === 'object') continue; // a relation, not a column
      out.push(`${doc(field.documentation, '  ')}  ${quote(field.dbName ?? field.name)}: ${columnType(field)};`);
    }
    out.push('}', '');
    tables.push(`  ${quote(model.dbName ?? model.name)}: ${model.name};`);
  }
  out.push('export interface DB {', ...tables, '}', '');
  return out.join('\n');
}

// Run by prisma generate (imported, as by its test, it only exports `render`).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) generatorHelper.generatorHandler({
  onManifest: () => ({ prettyName: 'Kysely table types', defaultOutput: './kysely' }),
  onGenerate: async (options) => {
    const dir = options.generator.output?.value;
    if (!dir) throw new Error('kysely-types: the generator needs an output folder');
    const file = `${dir}/types.ts`;
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, render(options.dmmf.datamodel));
  },
});
