/** Every workflow type the game's workers run; the exported names are the workflow types. */
export {};
