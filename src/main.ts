// Entry point of the controller manager; flags and wiring arrive with the controllers.
process.stderr.write('cluster-api-ipam-provider-in-cluster (TypeScript): controllers not wired yet\n');
process.exitCode = 1;
