/** The panel editor: query with autocomplete, a live preview of the draft, type and options. */
import { useEffect, useState } from "react";

import { PANEL_TYPES, type PanelDraft, type PanelOptions, type PanelType, type Threshold } from "../../api/types";
import { PromQLInput } from "../../components/PromQLInput";
import { normalizeThresholds, UNITS } from "../../lib/format";
import { PanelBody, type PanelContext } from "../../panels/PanelView";

const TYPE_LABEL: Record<PanelType, string> = {
  line: "Time series (line)",
  area: "Area",
  bar: "Bar chart",
  gauge: "Gauge",
  stat: "Stat",
  heatmap: "Heatmap",
  table: "Table",
};

function numberOrUndefined(text: string): number | undefined {
  if (text.trim() === "") return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function withOption<K extends string>(options: PanelOptions, key: K, value: unknown): PanelOptions {
  const next: PanelOptions = { ...options };
  if (value === undefined || value === "") delete next[key];
  else next[key] = value;
  return next;
}

export function PanelEditor({ initial, ctx, onApply, onCancel }: {
  initial: PanelDraft;
  ctx: PanelContext;
  onApply: (panel: PanelDraft) => void;
  onCancel: () => void;
}) {
  const [draft, setDraft] = useState<PanelDraft>(initial);
  // The preview runs the query when asked (Run, Shift+Enter), not at every keystroke...
  const [previewQuery, setPreviewQuery] = useState(initial.query);
  // ...and by itself once typing pauses.
  useEffect(() => {
    if (draft.query === previewQuery) return;
    const timer = setTimeout(() => setPreviewQuery(draft.query), 800);
    return () => clearTimeout(timer);
  }, [draft.query, previewQuery]);
  const options = draft.options;
  const thresholds: Threshold[] = normalizeThresholds(options.thresholds).map((t) => ({ ...t }));
  const set = (key: string, value: unknown) => setDraft((d) => ({ ...d, options: withOption(d.options, key, value) }));
  const setThresholds = (list: Threshold[]) => set("thresholds", list.length === 0 ? undefined : list.map((t) => ({ value: Number.isFinite(t.value) ? t.value : null, color: t.color })));

  return (
    <div className="fixed inset-0 z-50 flex flex-col bg-canvas/95 backdrop-blur-sm" role="dialog" aria-label="Edit panel" data-testid="panel-editor">
      <div className="flex items-center gap-3 border-b border-line bg-surface px-4 py-2">
        <h2 className="flex-1 text-sm font-semibold">Edit panel</h2>
        <button type="button" className="btn" onClick={onCancel} data-testid="panel-cancel">Discard</button>
        <button type="button" className="btn btn-primary" onClick={() => onApply({ ...draft })} data-testid="panel-apply">Apply</button>
      </div>
      <div className="flex min-h-0 flex-1">
        <div className="flex min-w-0 flex-1 flex-col gap-3 p-4">
          <div className="card flex h-[45vh] flex-col">
            <div className="border-b border-line px-3 py-1.5 text-[13px] font-medium">{draft.title || "Untitled"}</div>
            <div className="min-h-0 flex-1 p-2" data-testid="panel-preview">
              <PanelBody panel={{ ...draft, query: previewQuery }} ctx={ctx} />
            </div>
          </div>
          <div className="card p-3">
            <label className="label" htmlFor="panel-query">Query</label>
            <PromQLInput value={draft.query} onChange={(query) => setDraft((d) => ({ ...d, query }))} onSubmit={() => setPreviewQuery(draft.query)} rows={3} />
            <div className="mt-2 flex items-center gap-2">
              <button type="button" className="btn" onClick={() => setPreviewQuery(draft.query)} data-testid="panel-run">Run query</button>
              <span className="text-xs text-ink-muted">Shift+Enter runs it · Ctrl+Space suggests · variables like $service work here</span>
            </div>
            <label className="label mt-3" htmlFor="panel-legend">Legend format</label>
            <input id="panel-legend" className="input font-mono" placeholder="{{service}}" value={typeof options.legendFormat === "string" ? options.legendFormat : ""} onChange={(e) => set("legendFormat", e.target.value)} data-testid="panel-legend-format" />
          </div>
        </div>
        <aside className="w-80 shrink-0 overflow-auto border-l border-line bg-surface p-4 text-sm">
          <label className="label" htmlFor="panel-title">Title</label>
          <input id="panel-title" className="input mb-3" value={draft.title} onChange={(e) => setDraft((d) => ({ ...d, title: e.target.value }))} data-testid="panel-title-input" />
          <label className="label" htmlFor="panel-type">Visualization</label>
          <select id="panel-type" className="input mb-3" value={draft.type} onChange={(e) => setDraft((d) => ({ ...d, type: e.target.value as PanelType }))} data-testid="panel-type">
            {PANEL_TYPES.map((t) => <option key={t} value={t}>{TYPE_LABEL[t]}</option>)}
          </select>
          <label className="label" htmlFor="panel-unit">Unit</label>
          <select id="panel-unit" className="input mb-3" value={typeof options.unit === "string" ? options.unit : ""} onChange={(e) => set("unit", e.target.value)} data-testid="panel-unit">
            {UNITS.map((u) => <option key={u.id} value={u.id}>{u.label}</option>)}
          </select>
          <div className="mb-3 grid grid-cols-3 gap-2">
            <div>
              <label className="label" htmlFor="panel-decimals">Decimals</label>
              <input id="panel-decimals" className="input" inputMode="numeric" defaultValue={options.decimals ?? ""} onChange={(e) => set("decimals", numberOrUndefined(e.target.value))} />
            </div>
            <div>
              <label className="label" htmlFor="panel-min">Min</label>
              <input id="panel-min" className="input" inputMode="decimal" defaultValue={options.min ?? ""} onChange={(e) => set("min", numberOrUndefined(e.target.value))} />
            </div>
            <div>
              <label className="label" htmlFor="panel-max">Max</label>
              <input id="panel-max" className="input" inputMode="decimal" defaultValue={options.max ?? ""} onChange={(e) => set("max", numberOrUndefined(e.target.value))} />
            </div>
          </div>
          <label className="mb-2 flex items-center gap-2">
            <input type="checkbox" checked={options.legend?.show !== false} onChange={(e) => set("legend", { ...(options.legend ?? {}), show: e.target.checked })} />
            Show legend
          </label>
          <label className="mb-4 flex items-center gap-2">
            <input type="checkbox" checked={options.stacking === true} onChange={(e) => set("stacking", e.target.checked ? true : undefined)} data-testid="panel-stacking" />
            Stack series
          </label>
          <p className="label">Thresholds</p>
          <ul className="mb-2 space-y-1" data-testid="panel-thresholds">
            {thresholds.map((t, i) => (
              <li key={i} className="flex items-center gap-2">
                <input type="color" className="h-7 w-9 rounded border border-line bg-canvas" value={/^#[0-9a-f]{6}$/i.test(t.color) ? t.color : "#ef4444"} onChange={(e) => setThresholds(thresholds.map((x, j) => (j === i ? { ...x, color: e.target.value } : x)))} aria-label="Threshold colour" />
                <input className="input" inputMode="decimal" placeholder="base" defaultValue={Number.isFinite(t.value) ? t.value : ""} onBlur={(e) => setThresholds(thresholds.map((x, j) => (j === i ? { ...x, value: numberOrUndefined(e.target.value) ?? -Infinity } : x)))} aria-label="Threshold value" />
                <button type="button" className="btn btn-ghost px-2" onClick={() => setThresholds(thresholds.filter((_, j) => j !== i))} aria-label="Remove threshold">✕</button>
              </li>
            ))}
          </ul>
          <button type="button" className="btn" onClick={() => setThresholds([...thresholds, { value: Number.isFinite(thresholds.at(-1)?.value ?? NaN) ? thresholds.at(-1)!.value + 10 : 80, color: "#ef4444" }])}>
            + Add threshold
          </button>
        </aside>
      </div>
    </div>
  );
}
