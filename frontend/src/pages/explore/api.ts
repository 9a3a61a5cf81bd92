// The Prometheus-compatible query API of the query service, for ad-hoc queries.

import { requestJson } from "../alerts/http";
import type { QueryData } from "./transform";

interface Envelope {
  status: "success";
  data: QueryData;
  warnings?: string[];
}

export const queryApi = {
  instant: (query: string, time: number, signal?: AbortSignal) =>
    requestJson<Envelope>("/prometheus/api/v1/query",
      { query: { query, time }, ...(signal ? { signal } : {}) }),
  range: (query: string, start: number, end: number, step: number, signal?: AbortSignal) =>
    requestJson<Envelope>("/prometheus/api/v1/query_range",
      { query: { query, start, end, step }, ...(signal ? { signal } : {}) }),
};
