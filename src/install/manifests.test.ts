import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseFlags } from '../observability/flags.js';
import {
  COMMENTED_MANAGER_ARGS,
  managerDeployment,
  providerObjects,
  renderInstallManifestFiles,
} from './manifests.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('install manifests', () => {
  it('are up to date on disk (run `npm run generate` after changing them)', () => {
    for (const file of renderInstallManifestFiles()) {
      expect(readFileSync(join(root, file.path), 'utf8'), file.path).toBe(file.content);
    }
  });

  it('start the manager with flags it accepts, leader election on', () => {
    const deployment = managerDeployment() as {
      spec: { template: { spec: { containers: { args: string[] }[] } } };
    };
    const flags = parseFlags(deployment.spec.template.spec.containers[0]?.args ?? []);
    expect(flags.leaderElect).toBe(true);
    expect(flags.diagnosticsAddress).toBe(':8443');
    expect(flags.insecureDiagnostics).toBe(false);
  });

  it('run the manager as non-root on a read-only root file system, nothing escalated', () => {
    const deployment = managerDeployment() as {
      spec: { template: { spec: { containers: { securityContext?: Record<string, unknown> }[] } } };
    };
    expect(deployment.spec.template.spec.containers[0]?.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
      runAsUser: 65532,
    });
  });

  it('show the Service load-balancer flags commented out under the args, accepted once uncommented', () => {
    const provider = renderInstallManifestFiles().find((f) => f.path === 'manifests/provider.yaml');
    const text = provider?.content ?? '';
    const argsOf = (yaml: string) => {
      const docs = parseAllDocuments(yaml).map((d) => d.toJS() as { kind: string; spec?: unknown });
      const d = docs.find((o) => o.kind === 'Deployment') as ReturnType<typeof deployment>;
      return d.spec.template.spec.containers[0]?.args ?? [];
    };
    const deployment = () =>
      managerDeployment() as { spec: { template: { spec: { containers: { args: string[] }[] } } } };
    // The Go provider's args, unchanged; the flags are comments after them.
    expect(argsOf(text)).toEqual(['--leader-elect', '--diagnostics-address=:8443']);
    for (const line of COMMENTED_MANAGER_ARGS)
      expect(text).toMatch(new RegExp(`^ +# ${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    const uncommented = text.replace(/^( +)# (- --service-lb-)/gm, '$1$2');
    const flags = parseFlags(argsOf(uncommented));
    expect(flags.serviceLbClass).toBe('kube-vip.io/kube-vip-class');
    expect(flags.serviceLbDefault).toBe(true);
    expect(flags.leaderElect).toBe(true);
  });

  it('use the Go provider names under its namespace', () => {
    const names = providerObjects().map((o) => {
      const { kind, metadata } = o as { kind: string; metadata: { name: string; namespace?: string } };
      return `${kind}/${metadata.namespace ?? ''}/${metadata.name}`;
    });
    expect(names).toEqual([
      'Namespace//capi-ipam-in-cluster-system',
      'ServiceAccount/capi-ipam-in-cluster-system/capi-ipam-in-cluster-controller-manager',
      'ClusterRole//capi-ipam-in-cluster-manager-role',
      'ClusterRoleBinding//capi-ipam-in-cluster-manager-rolebinding',
      'Role/capi-ipam-in-cluster-system/capi-ipam-in-cluster-leader-election-role',
      'RoleBinding/capi-ipam-in-cluster-system/capi-ipam-in-cluster-leader-election-rolebinding',
      'ClusterRole//capi-ipam-in-cluster-proxy-role',
      'ClusterRoleBinding//capi-ipam-in-cluster-proxy-rolebinding',
      'ClusterRole//capi-ipam-in-cluster-metrics-reader',
      'Service/capi-ipam-in-cluster-system/capi-ipam-in-cluster-controller-manager-metrics-service',
      'Deployment/capi-ipam-in-cluster-system/capi-ipam-in-cluster-controller-manager',
    ]);
  });
});
