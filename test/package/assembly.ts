/**
 * The library's public API as jsii compiled it (the `.jsii` assembly), so that the package checks
 * enumerate constructs and props from what is actually shipped: a construct added later joins them.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
// jsii-pacmak's own naming (a dependency of jsii-pacmak and jsii-docgen).
import { toSnakeCase } from 'codemaker';

export const ROOT = resolve(__dirname, '..', '..');

export interface TypeReference {
  readonly fqn?: string;
  readonly primitive?: string;
  readonly collection?: { readonly kind: string; readonly elementtype: TypeReference };
  readonly union?: { readonly types: readonly TypeReference[] };
}

export interface Docs {
  readonly summary?: string;
  readonly remarks?: string;
  /** A prop's `@default`, as written after the tag. */
  readonly default?: string;
}

export interface AssemblyProperty {
  readonly name: string;
  readonly type: TypeReference;
  readonly optional?: boolean;
  readonly static?: boolean;
  readonly docs?: Docs;
}

export interface AssemblyType {
  readonly fqn: string;
  readonly name: string;
  readonly kind: 'class' | 'interface' | 'enum';
  readonly namespace?: string;
  readonly datatype?: boolean;
  readonly docs?: Docs;
  readonly abstract?: boolean;
  readonly interfaces?: readonly string[];
  readonly properties?: readonly AssemblyProperty[];
  readonly members?: readonly { readonly name: string }[];
  readonly initializer?: { readonly parameters?: readonly { readonly name: string; readonly type: TypeReference }[] };
}

export interface Assembly {
  readonly name: string;
  readonly types: { readonly [fqn: string]: AssemblyType };
}

export function readAssembly(root: string = ROOT): Assembly {
  return JSON.parse(readFileSync(join(root, '.jsii'), 'utf8')) as Assembly;
}

/** A construct takes `(scope: Construct, id: string, props)`; its props struct is the third parameter. */
export interface ConstructType {
  readonly name: string;
  readonly fqn: string;
  readonly props?: AssemblyType;
}

export function constructsOf(assembly: Assembly): ConstructType[] {
  return Object.values(assembly.types)
    .filter((type) => type.kind === 'class' && !type.abstract)
    .filter((type) => {
      const [scope, id] = type.initializer?.parameters ?? [];
      return scope?.type.fqn === 'constructs.Construct' && id?.type.primitive === 'string';
    })
    .map((type) => {
      const propsFqn = type.initializer?.parameters?.[2]?.type.fqn;
      return { name: type.name, fqn: type.fqn, props: propsFqn ? assembly.types[propsFqn] : undefined };
    });
}

/** Every property of a struct, its inherited ones included (BatchPayoutProps extends BatchRunProps). */
export function structProperties(assembly: Assembly, struct: AssemblyType): AssemblyProperty[] {
  const own = struct.properties ?? [];
  const inherited = (struct.interfaces ?? [])
    .map((fqn) => assembly.types[fqn])
    .filter((parent): parent is AssemblyType => parent !== undefined)
    .flatMap((parent) => structProperties(assembly, parent));
  const byName = new Map<string, AssemblyProperty>();
  for (const property of [...inherited, ...own]) byName.set(property.name, property);
  return [...byName.values()];
}

/** `maxOrderAmountUsdc` → `max_order_amount_usdc`: a keyword argument's name in Python, by jsii's own rule. */
export function pythonName(camelCase: string): string {
  return toSnakeCase(camelCase);
}
