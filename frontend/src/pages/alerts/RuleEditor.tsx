// Create or edit an alert rule: every field the alerts API takes, checked as typed, with
// a live preview of the query; the API's own error (a 400 naming a field, a 401/403)
// is shown above the buttons.

import { useState } from "react";

import { PromQLInput } from "../../components/PromQLInput";
import { alertsApi } from "./api";
import { ApiError } from "./http";
import { RulePreview } from "./RulePreview";
import {
  CONDITIONS, emptyRuleForm, type FormErrors, type KeyValue, type RuleForm, ruleToForm,
  SEVERITIES, TARGET_TYPES, validateRuleForm,
} from "./ruleForm";
import type { Rule, TargetType } from "./types";
import { Button, ErrorBox, Field, inputClass } from "./ui";

function PairsEditor({ label, rows, onChange, errors, field, testId, keyPlaceholder,
  valuePlaceholder }: {
  label: string; rows: KeyValue[]; onChange: (rows: KeyValue[]) => void; errors: FormErrors;
  field: string; testId: string; keyPlaceholder: string; valuePlaceholder: string;
}) {
  const set = (i: number, patch: Partial<KeyValue>) =>
    onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <fieldset data-testid={testId} className="space-y-2">
      <legend className="text-xs font-medium uppercase tracking-wide text-ink-muted">{label}</legend>
      {rows.map((row, i) => (
        <div key={i} className="flex flex-col gap-1">
          <div className="flex gap-2">
            <input aria-label={`${label} name ${i + 1}`} value={row.key} placeholder={keyPlaceholder}
              onChange={(e) => set(i, { key: e.target.value })} className={`${inputClass} w-40 shrink-0 font-mono`} />
            <input aria-label={`${label} value ${i + 1}`} value={row.value}
              placeholder={valuePlaceholder} onChange={(e) => set(i, { value: e.target.value })}
              className={`${inputClass} min-w-0 flex-1`} />
            <Button variant="ghost" aria-label={`Remove ${label.toLowerCase()} ${i + 1}`}
              onClick={() => onChange(rows.filter((_, j) => j !== i))}>✕</Button>
          </div>
          {errors[`${field}.${i}`] && (
            <span role="alert" className="text-xs text-bad">{errors[`${field}.${i}`]}</span>
          )}
        </div>
      ))}
      <Button variant="ghost" className="text-xs" onClick={() => onChange([...rows, { key: "", value: "" }])}>
        + Add {label.toLowerCase().replace(/s$/, "")}
      </Button>
    </fieldset>
  );
}

export function RuleEditor({ rule, onSaved, onCancel }: {
  rule: Rule | null; onSaved: (rule: Rule) => void; onCancel: () => void;
}) {
  const [form, setForm] = useState<RuleForm>(() => (rule ? ruleToForm(rule) : emptyRuleForm()));
  const [errors, setErrors] = useState<FormErrors>({});
  const [apiError, setApiError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const set = (patch: Partial<RuleForm>) => setForm((f) => ({ ...f, ...patch }));

  const save = async () => {
    const { body, errors: found } = validateRuleForm(form);
    setErrors(found);
    setApiError(null);
    if (!body) return;
    setSaving(true);
    try {
      const saved = rule ? await alertsApi.updateRule(rule.id, body)
        : await alertsApi.createRule(body);
      onSaved(saved);
    } catch (e) {
      setApiError(e);
      // A 400 names its field: put it next to the input too.
      if (e instanceof ApiError && e.status === 400) {
        const field = e.body.field ?? /^(\w+)/.exec(e.message)?.[1];
        const formField = field === "for" ? "forDuration" : field === "keep_firing_for"
          ? "keepFiringFor" : field;
        if (formField && formField in form) setErrors({ [formField]: e.message });
      }
    } finally {
      setSaving(false);
    }
  };

  return (
    <form data-testid="rule-editor" className="grid gap-6 lg:grid-cols-2"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}>
      <div className="space-y-4">
        <h2 className="text-lg font-semibold text-ink">
          {rule ? `Edit ${rule.name}` : "New alert rule"}
          {rule?.provisioned && <span className="ml-2 text-xs text-ink-muted">(provisioned)</span>}
        </h2>
        <div className="grid grid-cols-2 gap-3">
          <Field label="Name" error={errors.name} htmlFor="rule-name" hint="Like HighLatency">
            <input id="rule-name" data-testid="rule-name" value={form.name}
              onChange={(e) => set({ name: e.target.value })} className={`${inputClass} w-full font-mono`} />
          </Field>
          <Field label="Group" error={errors.group} htmlFor="rule-group">
            <input id="rule-group" data-testid="rule-group" value={form.group}
              onChange={(e) => set({ group: e.target.value })} className={`${inputClass} w-full`} />
          </Field>
        </div>
        <Field label="Query (PromQL)" error={errors.query}>
          <PromQLInput testId="rule-query" value={form.query} onChange={(query) => set({ query })} />
        </Field>
        <div className="grid grid-cols-2 gap-3">
          <Field label="Condition" htmlFor="rule-condition"
            hint={form.condition === "" ? "Every series the query returns is active" : undefined}>
            <select id="rule-condition" data-testid="rule-condition" value={form.condition}
              onChange={(e) => set({ condition: e.target.value as RuleForm["condition"] })}
              className={`${inputClass} w-full`}>
              {CONDITIONS.map((c) => (
                <option key={c.value} value={c.value}>{`value ${c.label} (${c.operator})`}</option>
              ))}
              <option value="">none (the query is the condition)</option>
            </select>
          </Field>
          <Field label="Threshold" error={errors.threshold} htmlFor="rule-threshold">
            <input id="rule-threshold" data-testid="rule-threshold" value={form.threshold}
              disabled={form.condition === ""} inputMode="decimal"
              onChange={(e) => set({ threshold: e.target.value })} className={`${inputClass} w-full`} />
          </Field>
          <Field label="For" error={errors.forDuration} htmlFor="rule-for"
            hint="Pending this long before firing">
            <input id="rule-for" data-testid="rule-for" value={form.forDuration}
              onChange={(e) => set({ forDuration: e.target.value })} className={`${inputClass} w-full`} />
          </Field>
          <Field label="Keep firing for" error={errors.keepFiringFor} htmlFor="rule-keep"
            hint="Still firing this long after it clears">
            <input id="rule-keep" data-testid="rule-keep-firing-for" value={form.keepFiringFor}
              onChange={(e) => set({ keepFiringFor: e.target.value })} className={`${inputClass} w-full`} />
          </Field>
          <Field label="Severity" htmlFor="rule-severity">
            <select id="rule-severity" data-testid="rule-severity" value={form.severity}
              onChange={(e) => set({ severity: e.target.value as RuleForm["severity"] })}
              className={`${inputClass} w-full`}>
              {SEVERITIES.map((s) => <option key={s} value={s}>{s}</option>)}
            </select>
          </Field>
          <Field label="Evaluation interval" error={errors.interval} htmlFor="rule-interval"
            hint="Empty: at every evaluation round">
            <input id="rule-interval" data-testid="rule-interval" value={form.interval}
              placeholder="every round" onChange={(e) => set({ interval: e.target.value })}
              className={`${inputClass} w-full`} />
          </Field>
          <Field label="Alert limit" error={errors.limit} htmlFor="rule-limit"
            hint="More alerts than this fail the rule; 0: no limit">
            <input id="rule-limit" data-testid="rule-limit" value={form.limit} inputMode="numeric"
              onChange={(e) => set({ limit: e.target.value })} className={`${inputClass} w-full`} />
          </Field>
          <label className="flex items-center gap-2 self-end pb-2 text-sm text-ink">
            <input type="checkbox" data-testid="rule-enabled" checked={form.enabled}
              onChange={(e) => set({ enabled: e.target.checked })} />
            Enabled
          </label>
        </div>
        <PairsEditor label="Labels" field="labels" testId="rule-labels" rows={form.labels}
          errors={errors} onChange={(labels) => set({ labels })} keyPlaceholder="team"
          valuePlaceholder="ops (may use {{ $labels.x }})" />
        <PairsEditor label="Annotations" field="annotations" testId="rule-annotations"
          rows={form.annotations} errors={errors} onChange={(annotations) => set({ annotations })}
          keyPlaceholder="summary" valuePlaceholder="{{ $labels.service }} is at {{ $value }}" />
        <fieldset data-testid="rule-targets" className="space-y-2">
          <legend className="text-xs font-medium uppercase tracking-wide text-ink-muted">
            Notification targets
          </legend>
          {form.targets.length === 0 && (
            <p className="text-xs text-ink-muted">None: the alert shows here and in ALERTS only.</p>
          )}
          {form.targets.map((t, i) => (
            <div key={i} className="flex flex-col gap-1">
              <div className="flex gap-2">
                <select aria-label={`Target type ${i + 1}`} value={t.type} className={`${inputClass} w-36`}
                  onChange={(e) => set({ targets: form.targets.map((x, j) =>
                    j === i ? { ...x, type: e.target.value as TargetType } : x) })}>
                  {TARGET_TYPES.map((k) => <option key={k} value={k}>{k}</option>)}
                </select>
                <input aria-label={`Target address ${i + 1}`} value={t.address}
                  placeholder={t.type === "email" ? "ops@example.com" : "https://hooks.example.com/lookout"}
                  onChange={(e) => set({ targets: form.targets.map((x, j) =>
                    j === i ? { ...x, address: e.target.value } : x) })}
                  className={`${inputClass} min-w-0 flex-1`} />
                <Button variant="ghost" aria-label={`Remove target ${i + 1}`}
                  onClick={() => set({ targets: form.targets.filter((_, j) => j !== i) })}>✕</Button>
              </div>
              {errors[`targets.${i}`] && (
                <span role="alert" className="text-xs text-bad">{errors[`targets.${i}`]}</span>
              )}
            </div>
          ))}
          <Button variant="ghost" className="text-xs"
            onClick={() => set({ targets: [...form.targets, { type: "email", address: "" }] })}>
            + Add target
          </Button>
        </fieldset>
        {apiError !== null && <ErrorBox error={apiError} testId="rule-save-error" />}
        <div className="flex gap-2">
          <Button type="submit" variant="primary" data-testid="rule-save" disabled={saving}>
            {saving ? "Saving…" : rule ? "Save rule" : "Create rule"}
          </Button>
          <Button onClick={onCancel}>Cancel</Button>
        </div>
      </div>
      <div className="space-y-2">
        <h3 className="text-sm font-semibold text-ink">Preview (last hour)</h3>
        <div className="card p-4">
          <RulePreview query={form.query} condition={form.condition} threshold={form.threshold} />
        </div>
      </div>
    </form>
  );
}
