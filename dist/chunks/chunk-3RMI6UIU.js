import { createRequire as __pdRequire } from 'node:module'; const require = __pdRequire(import.meta.url);
var r=class extends Error{name="InputError";constructor(e){super(e)}};export{r as a};
