import { ServiceStatusList } from "./components/ServiceStatusList";
import { SERVICES } from "./health/probe";

export function App() {
  return (
    <main className="page">
      <header className="page-header">
        <h1>Lookout</h1>
        <p className="lede">Dashboards are not built yet. Meanwhile, this page shows whether the services answer.</p>
      </header>
      <section className="panel" aria-labelledby="services-heading">
        <h2 id="services-heading">Services</h2>
        <p className="hint">Readiness checked every 5 seconds through the front door.</p>
        <ServiceStatusList services={SERVICES} />
      </section>
    </main>
  );
}
