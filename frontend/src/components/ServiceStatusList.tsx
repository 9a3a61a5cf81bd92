import { useEffect, useState } from "react";

import { probeService, type Fetcher, type ProbeResult, type ServiceTarget } from "../health/probe";

interface ServiceStatusListProps {
  services: readonly ServiceTarget[];
  /** How often every service is probed again. */
  intervalMs?: number;
  /** Replaces window.fetch (tests). */
  fetcher?: Fetcher;
}

type Results = Record<string, ProbeResult | undefined>;

/** Probes each service now and every `intervalMs`, and lists up/down with latency. */
export function ServiceStatusList({ services, intervalMs = 5000, fetcher }: ServiceStatusListProps) {
  const [results, setResults] = useState<Results>({});

  useEffect(() => {
    let cancelled = false;
    const probeAll = () => {
      for (const service of services) {
        void probeService(service, {
          ...(fetcher === undefined ? {} : { fetcher }),
          // A probe never outlives the next round.
          timeoutMs: Math.min(3000, intervalMs),
        }).then((result) => {
          if (!cancelled) setResults((previous) => ({ ...previous, [service.url]: result }));
        });
      }
    };
    probeAll();
    const timer = setInterval(probeAll, intervalMs);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [services, intervalMs, fetcher]);

  return (
    <ul className="service-list" aria-label="Services">
      {services.map((service) => (
        <ServiceRow key={service.url} name={service.name} result={results[service.url]} />
      ))}
    </ul>
  );
}

function ServiceRow({ name, result }: { name: string; result: ProbeResult | undefined }) {
  const state = result?.state ?? "checking";
  return (
    <li className="service-row" data-state={state}>
      <span className="service-dot" aria-hidden="true" />
      <span className="service-name">{name}</span>
      <span className="service-state">{state}</span>
      <span className="service-detail">
        {result === undefined
          ? "…"
          : result.detail === undefined
            ? `${result.latencyMs} ms`
            : `${result.detail} · ${result.latencyMs} ms`}
      </span>
      {result !== undefined && (
        <time className="service-checked" dateTime={new Date(result.checkedAt).toISOString()}>
          {new Date(result.checkedAt).toLocaleTimeString()}
        </time>
      )}
    </li>
  );
}
