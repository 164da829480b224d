/**
 * Command-line flags, declared once per command: the declaration parses the flags, checks
 * their values and writes the --help text, so the three cannot drift apart.
 *
 *   const flags = { lr: flag.number('learning rate', { positive: true }), quiet: flag.bool('...') };
 *   const { values, positionals } = parseArgs(argv, flags, 'chainrule train');
 *   values.lr; // number | undefined: undefined when the flag was not given
 *
 * A flag's key is its camelCase name; on the command line it is kebab-case (batchSize is
 * --batch-size). Both `--lr 1e-3` and `--lr=1e-3` work. Every mistake throws UsageError
 * with one line that names the flag; the CLI turns it into exit code 2.
 */
import { UsageError } from './errors.js';

export interface FlagSpec<T> {
  help: string;
  /** The placeholder in --help (e.g. N, FILE); absent for boolean switches. */
  valueName?: string;
  /** Shown in --help; the command applies defaults itself (a config file may sit between). */
  defaultText?: string;
  /** Turns the raw text into a value or returns an error message (without the flag name). */
  parse(raw: string): T | { error: string };
}

export type FlagSpecs = Record<string, FlagSpec<unknown>>;
export type FlagValues<S extends FlagSpecs> = { [K in keyof S]?: S[K] extends FlagSpec<infer T> ? T : never };

export interface ParsedArgs<S extends FlagSpecs> {
  values: FlagValues<S>;
  positionals: string[];
}

const isError = (v: unknown): v is { error: string } =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && 'error' in v;

export const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

interface NumberRules {
  defaultText?: string;
  /** > 0 */
  positive?: boolean;
  /** ≥ 0 */
  nonNegative?: boolean;
  /** < 1 (with nonNegative: a fraction) */
  belowOne?: boolean;
  valueName?: string;
}

function checkNumber(v: number, r: NumberRules): string | undefined {
  if (r.positive && !(v > 0)) return `must be > 0, got ${v}`;
  if (r.nonNegative && !(v >= 0)) return `must be ≥ 0, got ${v}`;
  if (r.belowOne && !(v < 1)) return `must be < 1, got ${v}`;
  return undefined;
}

/** The flag kinds. */
export const flag = {
  bool(help: string): FlagSpec<boolean> {
    return { help, parse: () => true };
  },
  string(help: string, opts: { valueName?: string; defaultText?: string } = {}): FlagSpec<string> {
    return { help, valueName: opts.valueName ?? 'TEXT', defaultText: opts.defaultText, parse: (raw) => raw };
  },
  number(help: string, rules: NumberRules = {}): FlagSpec<number> {
    return {
      help, valueName: rules.valueName ?? 'X', defaultText: rules.defaultText,
      parse(raw) {
        if (!NUMBER.test(raw.trim())) return { error: `${JSON.stringify(raw)} is not a number` };
        const v = Number(raw);
        const bad = checkNumber(v, rules);
        return bad ? { error: bad } : v;
      },
    };
  },
  int(help: string, rules: NumberRules = {}): FlagSpec<number> {
    return {
      help, valueName: rules.valueName ?? 'N', defaultText: rules.defaultText,
      parse(raw) {
        if (!/^[+-]?\d+$/.test(raw.trim())) return { error: `${JSON.stringify(raw)} is not an integer` };
        const v = Number(raw);
        if (!Number.isSafeInteger(v)) return { error: `${raw} is too large` };
        const bad = checkNumber(v, rules);
        return bad ? { error: bad } : v;
      },
    };
  },
  choice<C extends string>(help: string, choices: readonly C[], opts: { defaultText?: string } = {}): FlagSpec<C> {
    return {
      help: `${help} (${choices.join(', ')})`, valueName: 'NAME', defaultText: opts.defaultText,
      parse(raw) {
        const v = raw.trim().toLowerCase() as C;
        return choices.includes(v) ? v : { error: `${JSON.stringify(raw)} is not one of ${choices.join(', ')}` };
      },
    };
  },
  /** Comma-separated positive integers, e.g. layer sizes 784,256,10. */
  intList(help: string, opts: { defaultText?: string; minLength?: number } = {}): FlagSpec<number[]> {
    return {
      help, valueName: 'N,N,...', defaultText: opts.defaultText,
      parse(raw) {
        const parts = raw.split(',').map((s) => s.trim());
        const bad = parts.find((s) => !/^\d+$/.test(s) || Number(s) <= 0);
        if (bad !== undefined) {
          return { error: `${JSON.stringify(raw)} must be comma-separated positive integers (e.g. 784,128,10); ${JSON.stringify(bad)} is not one` };
        }
        if (parts.length < (opts.minLength ?? 1)) return { error: `needs at least ${opts.minLength} sizes, got ${parts.length}` };
        return parts.map(Number);
      },
    };
  },
};

/** Levenshtein distance, for "did you mean" hints on mistyped flags. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row[j]!;
      row[j] = next;
    }
  }
  return row[b.length]!;
}

function suggest(name: string, known: string[]): string {
  const best = known.map((k) => [k, distance(name, k)] as const).sort((a, b) => a[1] - b[1])[0];
  return best && best[1] <= Math.max(1, Math.floor(name.length / 3)) ? `; did you mean --${best[0]}?` : '';
}

/** For commands without operands: `name takes no positional arguments, got …` otherwise. */
export function noPositionals(name: string, positionals: readonly string[]): void {
  if (positionals.length) throw new UsageError(`${name} takes no positional arguments, got ${positionals.join(' ')}`);
}

/**
 * Parses `argv` against `specs`. `--` ends the flags. (`--help`/`-h` never reaches here: the
 * dispatcher in cli.ts answers it for every command before any flag is checked.)
 */
export function parseArgs<S extends FlagSpecs>(argv: readonly string[], specs: S, command: string): ParsedArgs<S> {
  const byName = new Map(Object.keys(specs).map((key) => [kebab(key), key]));
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || NUMBER.test(arg)) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.replace(/^--?/, '').slice(0, eq < 0 ? undefined : eq - (arg.startsWith('--') ? 2 : 1));
    const key = byName.get(name);
    if (key === undefined) {
      throw new UsageError(`unknown flag ${arg.slice(0, eq < 0 ? undefined : eq)} for ${command}${suggest(name, [...byName.keys()])} (see ${command} --help)`);
    }
    const spec = specs[key]!;
    let raw: string;
    if (spec.valueName === undefined) {
      if (eq >= 0) throw new UsageError(`--${name} is a switch and takes no value (got ${JSON.stringify(arg.slice(eq + 1))})`);
      raw = '';
    } else if (eq >= 0) {
      raw = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new UsageError(`--${name} needs a value: --${name} ${spec.valueName}`);
      }
      raw = next;
      i++;
    }
    if (raw.trim() === '' && spec.valueName !== undefined) throw new UsageError(`--${name} needs a value, got an empty string`);
    const value = spec.parse(raw);
    if (isError(value)) throw new UsageError(`--${name}: ${value.error}`);
    values[key] = value;
  }
  return { values: values as FlagValues<S>, positionals };
}

/** The flag table of a command's --help. */
export function formatFlags(specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([key, spec]) => {
    const left = `--${kebab(key)}${spec.valueName ? ` ${spec.valueName}` : ''}`;
    const right = spec.help + (spec.defaultText !== undefined ? ` [default: ${spec.defaultText}]` : '');
    return [left, right] as const;
  });
  const width = Math.min(28, Math.max(...rows.map(([l]) => l.length)));
  return rows
    .map(([l, r]) => (l.length > width ? `  ${l}\n  ${' '.repeat(width)}  ${r}` : `  ${l.padEnd(width)}  ${r}`))
    .join('\n');
}
