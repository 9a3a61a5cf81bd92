// The alerts page (route /alerts in src/router.tsx).
import { AlertsPage } from "./AlertsPage";

export default AlertsPage;
