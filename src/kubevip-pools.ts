/**
 * `node dist/kubevip-pools.js [-o pools.yaml] [file]` (`npm run kubevip-pools -- …`): reads
 * kube-vip-cloud-provider's ConfigMap, as YAML or JSON, from the file or stdin, and prints the
 * equivalent pools as YAML (src/install/kubevip-pools.ts says how). Notes go to stderr as warnings
 * too, so a pipe into a file still shows them. Exit 0 with the pools; 1 when a value is invalid
 * (each error names its key, nothing is printed to stdout); 2 for a usage error.
 *
 *   kubectl get configmap -n kube-system kubevip -o yaml | node dist/kubevip-pools.js > pools.yaml
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { convertKubeVipConfigMap, renderKubeVipPools } from './install/kubevip-pools.js';

const USAGE = `usage: kubevip-pools [-o <output file>] [file]
Reads kube-vip-cloud-provider's ConfigMap (YAML or JSON) from file, or stdin when none is given or
it is "-", and prints the equivalent InClusterIPPools and GlobalInClusterIPPools as YAML (to the
output file with -o). Warnings go to stderr.
  kubectl get configmap -n kube-system kubevip -o yaml | kubevip-pools -o pools.yaml
`;

/** The command line: the input file (`-` for stdin) and where the pools go; undefined if it is wrong. */
function parseArgs(args: string[]): { input: string; output: string | undefined } | undefined {
  let output: string | undefined;
  const inputs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '-o' || arg === '--output') {
      output = args[++i];
      if (output === undefined) return undefined;
    } else if (arg.startsWith('--output=')) output = arg.slice('--output='.length);
    else if (arg.startsWith('-') && arg !== '-') return undefined;
    else inputs.push(arg);
  }
  return inputs.length > 1 ? undefined : { input: inputs[0] ?? '-', output };
}

function main(args: string[]): number {
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const parsed = parseArgs(args);
  if (!parsed) {
    process.stderr.write(USAGE);
    return 2;
  }
  const file = parsed.input;
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    process.stderr.write(`error: cannot read ${file === '-' ? 'stdin' : file}: ${(err as Error).message}\n`);
    return 1;
  }
  let configMap: unknown;
  try {
    configMap = parse(text);
  } catch (err) {
    process.stderr.write(
      `error: ${file === '-' ? 'stdin' : file} is not YAML or JSON: ${(err as Error).message}\n`,
    );
    return 1;
  }
  const conversion = convertKubeVipConfigMap(configMap);
  for (const { key, message } of conversion.errors) process.stderr.write(`error: ${key}: ${message}\n`);
  if (conversion.errors.length > 0) return 1;
  for (const note of conversion.notes) process.stderr.write(`warning: ${note}\n`);
  const yaml = renderKubeVipPools(conversion);
  if (parsed.output === undefined) {
    process.stdout.write(yaml);
    return 0;
  }
  try {
    writeFileSync(parsed.output, yaml);
  } catch (err) {
    process.stderr.write(`error: cannot write ${parsed.output}: ${(err as Error).message}\n`);
    return 1;
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
