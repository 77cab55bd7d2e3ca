/**
 * A failed schema check (zod) in words: each problem as `path: message`, the path named `whole`
 * when the problem is with the value itself — one wording for every refusal that names the bad part.
 */

interface Issue {
  readonly path: ReadonlyArray<PropertyKey>;
  readonly message: string;
}

export function issueLines(issues: readonly Issue[], whole: string): string[] {
  return issues.map((i) => `${i.path.join('.') || whole}: ${i.message}`);
}

export function issuesText(issues: readonly Issue[], whole: string): string {
  return issueLines(issues, whole).join('; ');
}
