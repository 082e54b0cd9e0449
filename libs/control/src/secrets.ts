import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

/**
 * Where a document takes a secret (a password or an API key) from. A configuration file names an
 * environment variable or a file (`passwordFrom`, `keyFrom`); a custom resource names a key of a
 * Secret in its own namespace (`passwordSecretRef`, `apiKeys[].secretRef`).
 */
export type SecretReference =
  { readonly env: string } | { readonly file: string } | { readonly secret: string; readonly key: string; readonly namespace: string | undefined };

/** A secret's value, or why it cannot be had (the end of a sentence about the reference). */
export type SecretRead = { readonly value: string } | { readonly problem: string };

/**
 * The port libs/control reads secrets through while it validates: environment and files for a
 * configuration file (`envFileSecrets`), the operator's Secret cache for custom resources.
 */
export interface SecretSource {
  read(ref: SecretReference): SecretRead;
}

export interface EnvFileOptions {
  /** Environment for `{env}` references (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Directory relative `{file}` paths are resolved against (default the working directory). */
  readonly baseDir?: string;
}

/** Secrets of a configuration file: environment variables and files. Kubernetes Secret references are refused. */
export function envFileSecrets(opts: EnvFileOptions = {}): SecretSource {
  const env = opts.env ?? process.env;
  return {
    read(ref) {
      if ('env' in ref) {
        const value = env[ref.env];
        return value === undefined || value === '' ? { problem: `environment variable ${ref.env} is not set` } : { value };
      }
      if ('file' in ref) return readSecretFile(isAbsolute(ref.file) ? ref.file : resolve(opts.baseDir ?? '.', ref.file));
      return {
        problem: `names Secret ${ref.secret}, but a configuration file takes secrets from env or file (passwordFrom, keyFrom); Secrets are read by the operator`,
      };
    },
  };
}

function readSecretFile(path: string): SecretRead {
  try {
    return { value: readFileSync(path, 'utf8').replace(/\r?\n$/, '') };
  } catch {
    return { problem: `cannot read file ${path}` };
  }
}
