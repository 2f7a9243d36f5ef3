/**
 * `npm run release`: the artifacts of a release, in out/ — `ipam-components.yaml` and
 * `metadata.yaml`, what clusterctl fetches from a provider's release URL. The image the
 * Deployment runs comes from RELEASE_IMAGE (default: the dev image name).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RELEASE_SERIES, renderComponents, renderMetadata } from '../src/install/components.js';
import { DEV_IMAGE } from '../src/install/manifests.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const [major, minor] = version.split('.').map(Number);
if (!RELEASE_SERIES.some((s) => s.major === major && s.minor === minor)) {
  process.stderr.write(
    `package.json version ${version}: no release series ${major}.${minor} in src/install/components.ts (RELEASE_SERIES)\n`,
  );
  process.exit(1);
}
const image = process.env.RELEASE_IMAGE ?? DEV_IMAGE;
const out = join(root, 'out');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'ipam-components.yaml'), renderComponents(image, `v${version}`));
writeFileSync(join(out, 'metadata.yaml'), renderMetadata());
process.stdout.write(
  `wrote out/ipam-components.yaml (image ${image}) and out/metadata.yaml for v${version}\n`,
);
