/**
 * Fills `{name}` placeholders from `values`. The constructs check at synth that a template uses only
 * the placeholders its handler fills, so anything else is left as written.
 */
export function fillTemplate(template: string, values: { readonly [name: string]: string | number }): string {
  return template.replace(/\{([A-Za-z]+)\}/g, (match, name: string) => (name in values ? String(values[name]) : match));
}
