import { createRequire as __pdRequire } from 'node:module'; const require = __pdRequire(import.meta.url);
import{b as r}from"./chunk-M6FCVRYN.js";function c(n,t,o){let e=r(n,{io:"input",unrepresentable:"any"});return{$schema:e.$schema,title:t,description:o,...Object.fromEntries(Object.entries(e).filter(([s])=>s!=="$schema"))}}function a(n){return`${JSON.stringify(n,null,2)}
`}export{c as a,a as b};
