/**
 * Which files `regimes serve` may send: those under its folder, and nothing else. A request path
 * is percent-decoded once (a malformed escape is refused), must hold no `..`, NUL or backslash
 * segment, and must still lie under the folder once every symlink on the way is resolved.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';

export type Resolved = { path: string } | { refused: string; status: 403 | 404 | 400 };

/** The real path of `request` (a URL path below the root, still percent-encoded) inside `root`. */
export function resolveUnder(root: string, request: string): Resolved {
  let decoded: string;
  try {
    decoded = decodeURIComponent(request);
  } catch {
    return { refused: 'malformed percent-encoding', status: 400 };
  }
  if (decoded.includes('\0') || decoded.includes('\\'))
    return { refused: 'NUL or backslash in the path', status: 400 };
  const segments = decoded.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return { refused: "'..' in the path", status: 403 };
  const realRoot = realpathSync(root);
  let real: string;
  try {
    real = realpathSync(join(realRoot, ...segments));
  } catch {
    return { refused: 'no such file', status: 404 };
  }
  if (!isInside(realRoot, real))
    return { refused: 'outside the served folder (a symlink leads out)', status: 403 };
  return { path: real };
}

/** `path` is `root` or lies below it (both real paths). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}
