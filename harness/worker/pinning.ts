/**
 * Pins the calling thread to one CPU through the native addon (pthread_setaffinity_np): Node has
 * no API for it. Without the addon, pinning is reported as not applied, with the reason.
 */
import { loadNativeAddon } from '../../implementations/native/addon.js';

export function pinCurrentThread(cpu: number): { pinned: boolean; error?: string } {
  const addon = loadNativeAddon();
  if (!addon.ok) return { pinned: false, error: addon.reason };
  try {
    addon.module.pinThread(cpu);
    return { pinned: true };
  } catch (error) {
    return { pinned: false, error: (error as Error).message };
  }
}
