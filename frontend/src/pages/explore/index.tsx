// The explore page (route /explore in src/router.tsx).
import { ExplorePage } from "./ExplorePage";

export default ExplorePage;
