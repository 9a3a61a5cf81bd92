export * from "./endpoints";
export { ApiError, api, query, request, setUnauthorizedHandler } from "./http";
export * from "./types";
