/**
 * Loads an image for the UI: progress while layers are read, the model as soon as the
 * tree is ready (the UI is usable then), and the report once every binary is decoded.
 */
import { useEffect, useRef, useState } from 'react';
import type { ImageModel, LoadOptions, LoadProgress } from '../load.js';
import { loadImage } from '../load.js';
import { type Report, type ReportOptions, buildReport } from '../report/index.js';

export interface LoadState {
  progress: LoadProgress | null;
  /** bytes per second, measured since the load started */
  rate: number;
  model: ImageModel | null;
  report: Report | null;
  error: string | null;
}

export function useLoad(reference: string, opts: LoadOptions & ReportOptions): LoadState {
  const [state, setState] = useState<LoadState>({ progress: null, rate: 0, model: null, report: null, error: null });
  const started = useRef(Date.now());
  useEffect(() => {
    let cancelled = false;
    let model: ImageModel | null = null;
    loadImage(reference, {
      ...opts,
      analysis: true,
      decodeInBackground: true,
      onProgress: (p) => {
        if (cancelled) return;
        const secs = Math.max(0.001, (Date.now() - started.current) / 1000);
        setState((s) => ({ ...s, progress: p, rate: p.bytesDone / secs }));
      },
    })
      .then((m) => {
        model = m;
        if (cancelled) return;
        setState((s) => ({ ...s, model: m }));
        // The tree shows now; the verdict once the decoding thread has caught up.
        void m.decodedReady.then(() => {
          if (cancelled) return;
          try {
            const report = buildReport(m, opts);
            setState((s) => ({ ...s, report }));
          } catch (e) {
            setState((s) => ({ ...s, error: (e as Error).message }));
          }
        });
      })
      .catch((e: Error) => !cancelled && setState((s) => ({ ...s, error: e.message })));
    return () => {
      cancelled = true;
      void model?.close();
    };
    // the image is loaded once per mount
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [reference]);
  return state;
}
