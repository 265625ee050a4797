import v8 from 'node:v8';
import vm from 'node:vm';

let gcFn: (() => void) | undefined;

/** A full GC of this (the main) isolate, without needing --expose-gc on the command line. */
export function collectGarbage(): void {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  gcFn();
}
