// Writes libs/control/src/crd-types.generated.ts from crds/*.yaml (the CRDs are the source of truth).
// Run with `npx tsx scripts/gen-crd-types.mjs`; libs/control/src/crd-types.spec.ts fails when the file is stale.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { GENERATED_FILE, renderCrdTypes } from '../libs/control/src/crd-codegen.ts';

const root = resolve(import.meta.dirname, '..');
writeFileSync(resolve(root, GENERATED_FILE), await renderCrdTypes(resolve(root, 'crds')));
console.log(`wrote ${GENERATED_FILE}`);
