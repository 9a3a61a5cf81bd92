/** The dashboard being viewed or edited: the server's copy, the user's draft, and saving with
 * optimistic concurrency (a 409 keeps the draft and says what happened). */
import { create } from "zustand";

import { ApiError, dashboards, type Dashboard, type DashboardDraft, type GridPosition, type PanelDraft } from "../api";

export interface EditablePanel extends PanelDraft {
  /** Stable within the editing session: `p<id>` for saved panels, `n<k>` for new ones. */
  key: string;
}

export interface LayoutItem {
  i: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Conflict {
  message: string;
  currentVersion: number | null;
}

export interface DashboardState {
  dashboard: Dashboard | null;
  panels: EditablePanel[];
  name: string;
  editing: boolean;
  dirty: boolean;
  loading: boolean;
  loadError: unknown;
  saving: boolean;
  saveError: string | null;
  conflict: Conflict | null;
  load: (id: number) => Promise<void>;
  setEditing: (editing: boolean) => void;
  setName: (name: string) => void;
  applyLayout: (layout: readonly LayoutItem[]) => void;
  addPanel: (panel: PanelDraft) => string;
  updatePanel: (key: string, panel: PanelDraft) => void;
  duplicatePanel: (key: string) => void;
  removePanel: (key: string) => void;
  discard: () => void;
  save: (extra?: Partial<DashboardDraft>) => Promise<boolean>;
  /** After a 409: save the draft over the newer version. */
  overwrite: (extra?: Partial<DashboardDraft>) => Promise<boolean>;
}

let newKey = 0;

export function panelsOf(dashboard: Dashboard): EditablePanel[] {
  return dashboard.panels.map((p) => ({
    key: `p${p.id}`,
    title: p.title,
    type: p.type,
    query: p.query,
    options: p.options,
    position: p.position,
  }));
}

/** Positions from a react-grid-layout layout; panels it does not name keep theirs. */
export function withLayout(panels: readonly EditablePanel[], layout: readonly LayoutItem[]): EditablePanel[] {
  const byKey = new Map(layout.map((l) => [l.i, l]));
  return panels.map((p) => {
    const l = byKey.get(p.key);
    if (l === undefined) return p;
    const position: GridPosition = { x: l.x, y: l.y, w: l.w, h: l.h };
    const same = p.position.x === l.x && p.position.y === l.y && p.position.w === l.w && p.position.h === l.h;
    return same ? p : { ...p, position };
  });
}

/** The first free row below every panel: where a new panel goes. */
export function bottomOf(panels: readonly EditablePanel[]): number {
  return panels.reduce((acc, p) => Math.max(acc, p.position.y + p.position.h), 0);
}

export function draftOf(state: Pick<DashboardState, "dashboard" | "panels" | "name">): DashboardDraft {
  const d = state.dashboard;
  if (d === null) throw new Error("no dashboard loaded");
  return {
    name: state.name,
    description: d.description,
    layout: d.layout,
    variables: d.variables,
    time_range: d.time_range,
    refresh: d.refresh,
    panels: state.panels.map((p) => ({ title: p.title, type: p.type, query: p.query, options: p.options, position: p.position })),
  };
}

function changed(set: (partial: Partial<DashboardState>) => void, partial: Partial<DashboardState>) {
  set({ ...partial, dirty: true, saveError: null });
}

export const useDashboard = create<DashboardState>()((set, get) => {
  const put = async (version: number, extra?: Partial<DashboardDraft>): Promise<boolean> => {
    const state = get();
    if (state.dashboard === null) return false;
    set({ saving: true, saveError: null });
    try {
      const saved = await dashboards.save(state.dashboard.id, { ...draftOf(state), ...extra, version });
      set({ dashboard: saved, panels: panelsOf(saved), name: saved.name, dirty: false, saving: false, conflict: null });
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        const current = typeof e.body.current_version === "number" ? e.body.current_version : null;
        set({ saving: false, conflict: { message: e.message, currentVersion: current } });
      } else {
        set({ saving: false, saveError: e instanceof Error ? e.message : String(e) });
      }
      return false;
    }
  };
  return {
    dashboard: null,
    panels: [],
    name: "",
    editing: false,
    dirty: false,
    loading: false,
    loadError: null,
    saving: false,
    saveError: null,
    conflict: null,
    load: async (id) => {
      set({ loading: true, loadError: null, conflict: null, saveError: null });
      try {
        const d = await dashboards.get(id);
        set({ dashboard: d, panels: panelsOf(d), name: d.name, dirty: false, loading: false, editing: false });
      } catch (e) {
        set({ loading: false, loadError: e, dashboard: null, panels: [] });
      }
    },
    setEditing: (editing) => set({ editing }),
    setName: (name) => changed(set, { name }),
    applyLayout: (layout) => {
      const panels = withLayout(get().panels, layout);
      if (panels.some((p, i) => p !== get().panels[i])) changed(set, { panels });
    },
    addPanel: (panel) => {
      const key = `n${++newKey}`;
      const position = { ...panel.position, y: bottomOf(get().panels) };
      changed(set, { panels: [...get().panels, { ...panel, position, key }] });
      return key;
    },
    updatePanel: (key, panel) =>
      changed(set, { panels: get().panels.map((p) => (p.key === key ? { ...panel, key } : p)) }),
    duplicatePanel: (key) => {
      const source = get().panels.find((p) => p.key === key);
      if (source === undefined) return;
      const copy: EditablePanel = {
        ...structuredClone({ title: source.title, type: source.type, query: source.query, options: source.options }),
        title: `${source.title} (copy)`,
        key: `n${++newKey}`,
        position: { ...source.position, y: bottomOf(get().panels) },
      };
      changed(set, { panels: [...get().panels, copy] });
    },
    removePanel: (key) => changed(set, { panels: get().panels.filter((p) => p.key !== key) }),
    discard: () => {
      const d = get().dashboard;
      if (d !== null) set({ panels: panelsOf(d), name: d.name, dirty: false, conflict: null, saveError: null, editing: false });
    },
    save: (extra) => {
      const d = get().dashboard;
      return d === null ? Promise.resolve(false) : put(d.version, extra);
    },
    overwrite: async (extra) => {
      const d = get().dashboard;
      if (d === null) return false;
      let version = get().conflict?.currentVersion ?? null;
      if (version === null) version = (await dashboards.get(d.id)).version;
      return put(version, extra);
    },
  };
});
