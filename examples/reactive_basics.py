"""Atoms, a family and an observable subscription: the reactive core in one screen.

Run: python examples/reactive_basics.py
"""

from __future__ import annotations

from molecules import Store, atom, atom_family, derived, select_atom

store = Store()

# A prompt playground keeps each prompt's draft text in a family: one atom per prompt id.
draft = atom_family(lambda prompt_id: atom(f"Hello {{{{name}}}} from {prompt_id}"))
selected = atom("p1")
text = derived(lambda get: get(draft(get(selected))))
length = select_atom(text, len)

# Push every change to "the browser" (here: print) through a reactivex Observable.
subscription = store.observe(text).subscribe(lambda value: print(f"text   -> {value!r}"))
store.sub(length, lambda: print(f"length -> {store.get(length)}"))

store.set(draft("p1"), "Summarise {{document}} for {{audience}}")
store.set(selected, "p2")  # the derived atom now follows another family member
store.set(draft("p1"), "edited while not selected: nobody is told")
with store.batch():  # two writes, one notification with the settled value
    store.set(draft("p2"), "first")
    store.set(draft("p2"), "second")

subscription.dispose()
print("members:", sorted(draft.keys()))
