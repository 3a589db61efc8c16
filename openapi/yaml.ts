/**
 * JSON data as block-style YAML, for docs/openapi.yaml: no YAML package is a dependency, and the
 * document is plain JSON data. Output is deterministic (keys in insertion order), so the committed
 * file can be compared with a fresh build byte for byte. Any string that could read as something
 * else (a number, a boolean, null, an indicator, a comment) is written as a JSON string, which is
 * valid YAML with the same escapes.
 */
export type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json };

const RESERVED = /^(true|false|null|yes|no|on|off|y|n|~)$/i;
const PLAIN = /^[A-Za-z_$/][A-Za-z0-9_$/.{}+-]*$/;

function scalar(value: string): string {
  return PLAIN.test(value) && !RESERVED.test(value) ? value : JSON.stringify(value);
}

/** Multi-line text as a literal block, when every line survives one unchanged. */
function block(value: string, indent: string): string | undefined {
  if (!value.includes('\n') || /[^\S\n]$|^\s|[^\S\n]\n|\t|[\u0000-\u0008\u000b-\u001f]/.test(value)) return undefined;
  const lines = value.split('\n');
  return `|-\n${lines.map((line) => (line === '' ? '' : `${indent}${line}`)).join('\n')}`;
}

function isObject(value: Json): value is { readonly [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function inline(value: Json, indent: string): string | undefined {
  if (value === null) return 'null';
  if (typeof value === 'boolean' || typeof value === 'number') return JSON.stringify(value);
  if (typeof value === 'string') return block(value, indent) ?? scalar(value);
  if (Array.isArray(value) && value.length === 0) return '[]';
  if (isObject(value) && Object.keys(value).length === 0) return '{}';
  return undefined;
}

function lines(value: Json, indent: string): string {
  if (Array.isArray(value)) {
    return value
      .map((item: Json) => {
        const simple = inline(item, `${indent}  `);
        if (simple !== undefined) return `${indent}- ${simple}`;
        // The item's first line goes after the dash, the rest keeps the item's indentation.
        return `${indent}- ${lines(item, `${indent}  `).slice(indent.length + 2)}`;
      })
      .join('\n');
  }
  if (isObject(value)) {
    return Object.entries(value)
      .map(([key, item]) => {
        const simple = inline(item, `${indent}  `);
        return simple !== undefined
          ? `${indent}${scalar(key)}: ${simple}`
          : `${indent}${scalar(key)}:\n${lines(item, `${indent}  `)}`;
      })
      .join('\n');
  }
  return `${indent}${inline(value, indent)}`;
}

export function toYaml(value: Json): string {
  return `${lines(value, '')}\n`;
}
