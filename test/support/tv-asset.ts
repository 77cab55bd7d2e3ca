/** The test vendor's asset `tv`, as most engine tests configure it. */
import type { Store } from '../../src/store/store.js';

export async function putTvAsset(store: Pick<Store, 'putAsset'>): Promise<void> {
  await store.putAsset(
    { egressAllow: ['loopback'], name: 'tv', appId: 'test-vendor', config: { url: 'http://127.0.0.1:1' }, secrets: { token: 't' } },
    'test',
  );
}
