"""The Streamlit explorer for curators and its queries."""
