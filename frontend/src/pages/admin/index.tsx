// The admin page (route /admin in src/router.tsx).
import { AdminPage } from "./AdminPage";

export default AdminPage;
