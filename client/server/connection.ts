/**
 * Where the server is. With TEMPORAL_ADDRESS (or a profile in the Temporal config file) the
 * standard Temporal environment configuration applies, as with the `temporal` CLI and every SDK:
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_CLIENT_CERT_PATH,
 * TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME,
 * TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE. So the same commands reach a self-hosted cluster or
 * Temporal Cloud. Without an address, the caller uses the embedded dev server.
 */
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';

export interface ServerTarget {
  connectionOptions: NativeConnectionOptions;
  namespace: string;
}

export function clusterTarget(): ServerTarget | undefined {
  const config = loadClientConnectConfig();
  if (!config.connectionOptions.address) return undefined;
  return { connectionOptions: config.connectionOptions, namespace: config.namespace ?? 'default' };
}

export function addressTarget(address: string, namespace = 'default'): ServerTarget {
  return { connectionOptions: { address }, namespace };
}
